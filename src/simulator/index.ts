export { simulatedAccount, simulatedAccountId } from "./accounts.js";
export {
  drawRandomFault,
  type FaultScope,
  mulberry32,
  type RandomFaults,
  type SimulatorFault,
  type SimulatorFaultType,
} from "./faults.js";
export type { SimulatorRequest } from "./request-log.js";
export { type Simulator, type SimulatorOptions, startSimulator } from "./server.js";

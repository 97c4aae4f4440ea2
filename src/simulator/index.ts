export { simulatedAccount, simulatedAccountId } from "./accounts.js";
export {
  drawRandomFault,
  type FaultScope,
  mulberry32,
  type RandomFaults,
  type SimulatorFault,
  type SimulatorFaultType,
} from "./faults.js";
export { type Simulator, type SimulatorOptions, type SimulatorRequest, startSimulator } from "./server.js";

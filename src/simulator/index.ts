export { simulatedAccount, simulatedAccountId } from "./accounts.js";
export {
  drawRandomFault,
  mulberry32,
  type SimulatorFault,
} from "./faults.js";
export { type Simulator, startSimulator } from "./server.js";

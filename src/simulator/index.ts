export { simulatedAccount, simulatedAccountId } from "./accounts.js";
export type { FaultScope, SimulatorFault } from "./faults.js";
export { type Simulator, type SimulatorOptions, type SimulatorRequest, startSimulator } from "./server.js";

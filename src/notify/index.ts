export { notifyRunFinished } from "./notify-run.js";

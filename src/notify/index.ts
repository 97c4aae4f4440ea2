export { loadNotificationDetails } from "./details.js";
export {
  buildRunNotification,
  type FailingAccount,
  MAX_FAILING_ACCOUNTS,
  type NotificationDetails,
  type RunNotification,
  shouldNotify,
} from "./notification.js";
export { type NotifyRunOptions, notifyRunFinished } from "./notify-run.js";
export { type SendNotificationOptions, sendNotification } from "./send.js";

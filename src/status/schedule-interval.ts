// How far apart the schedule's runs are: what "the last success is late" is measured against. Pure.
import { CronExpressionParser } from "cron-parser";

/** Fires looked at: enough to meet a weekend in a weekdays-only schedule. */
const FIRES = 10;

/**
 * The longest gap between two of the schedule's next fires after `from`, in ms: for "every 10 s", 10 s;
 * for "03:00 on weekdays", the weekend's 3 days (no alarm on a Monday morning). Null when the
 * expression cannot be read (the queue holds something this version does not know).
 */
export function scheduleIntervalMs(cron: string, timezone: string | null, from: Date): number | null {
  try {
    const expression = CronExpressionParser.parse(cron, {
      currentDate: from,
      ...(timezone === null ? {} : { tz: timezone }),
    });
    const fires = expression.take(FIRES).map((fire) => fire.getTime());
    let longest = 0;
    for (let index = 1; index < fires.length; index += 1) {
      longest = Math.max(longest, (fires[index] ?? 0) - (fires[index - 1] ?? 0));
    }
    return longest > 0 ? longest : null;
  } catch {
    return null;
  }
}

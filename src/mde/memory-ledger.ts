import { type CallLedger, HOUR_WINDOW_MS, MINUTE_WINDOW_MS } from '../core/defender-budget.js';

/**
 * The call ledger of one process, in memory: for a Defender client that is not wired to the
 * database (tests, one-off tools). A running hostlock counts in PostgreSQL (db/repos/mde-calls.ts)
 * so that all replicas share one budget.
 */
export function memoryCallLedger(now: () => number = Date.now): CallLedger {
  const calls = new Map<string, number>(); // id → time, oldest first
  let seq = 0;
  let pausedUntil = 0;
  return {
    async take(n, caps) {
      const t = now();
      if (pausedUntil > t) {
        return { taken: false, retryInMs: pausedUntil - t };
      }
      if (n > caps.perMinute || n > caps.perHour) {
        throw new RangeError(
          `${n} calls at once exceed the budget (${caps.perMinute}/min, ${caps.perHour}/h)`,
        );
      }
      for (const [id, at] of calls) {
        if (at > t - HOUR_WINDOW_MS) {
          break;
        }
        calls.delete(id);
      }
      const hour = [...calls.values()];
      const minute = hour.filter((at) => at > t - MINUTE_WINDOW_MS);
      // the call that must age out before n more fit: the (cap - n + 1)-th newest
      const blocker = (list: number[], cap: number) => list[list.length - 1 - (cap - n)] ?? t;
      const waits = [
        minute.length + n > caps.perMinute ? blocker(minute, caps.perMinute) + MINUTE_WINDOW_MS - t : 0,
        hour.length + n > caps.perHour ? blocker(hour, caps.perHour) + HOUR_WINDOW_MS - t : 0,
      ];
      if (waits.some((w) => w > 0)) {
        return { taken: false, retryInMs: Math.max(1, Math.ceil(Math.max(...waits))) };
      }
      const ids = Array.from({ length: n }, () => String(++seq));
      for (const id of ids) {
        calls.set(id, t);
      }
      return { taken: true, ids };
    },
    async giveBack(ids) {
      for (const id of ids) {
        calls.delete(id);
      }
    },
    async pauseUntil(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
    },
  };
}

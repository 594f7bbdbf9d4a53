/**
 * Client-side call budget that keeps hostlock under Defender's documented limits (100 calls/min and
 * 1,500 calls/h per API, mde-api.md §7) with some headroom for other tools sharing the app.
 * A sliding window: `acquire()` resolves when a call may be made now, waiting otherwise.
 * Callers are served in arrival order.
 */
export interface CallBudget {
  acquire(): Promise<void>;
  /** Defender said 429: nobody calls until `untilMs`. */
  pauseUntil(untilMs: number): void;
}

export interface BudgetOptions {
  perMinute?: number;
  perHour?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createCallBudget(opts: BudgetOptions = {}): CallBudget {
  const perMinute = opts.perMinute ?? 90;
  const perHour = opts.perHour ?? 1400;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const stamps: number[] = []; // call times within the last hour, oldest first
  let pausedUntil = 0;
  let queue: Promise<void> = Promise.resolve();

  function waitMs(t: number): number {
    while (stamps.length && (stamps[0] ?? 0) <= t - 3_600_000) {
      stamps.shift();
    }
    let wait = Math.max(0, pausedUntil - t);
    if (stamps.length >= perHour) {
      wait = Math.max(wait, (stamps[stamps.length - perHour] ?? t) + 3_600_000 - t);
    }
    const lastMinute = stamps.filter((s) => s > t - 60_000);
    if (lastMinute.length >= perMinute) {
      wait = Math.max(wait, (lastMinute[lastMinute.length - perMinute] ?? t) + 60_000 - t);
    }
    return wait;
  }

  return {
    acquire() {
      const turn = queue.then(async () => {
        for (let w = waitMs(now()); w > 0; w = waitMs(now())) {
          await sleep(w);
        }
        stamps.push(now());
      });
      queue = turn.catch(() => {});
      return turn;
    },
    pauseUntil(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
    },
  };
}

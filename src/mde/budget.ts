import { HostlockError } from '../core/errors.js';

/**
 * Client-side call budget that keeps hostlock under Defender's documented limits (100 calls/min and
 * 1,500 calls/h per API, mde-api.md §7) with some headroom for other tools sharing the app.
 * A sliding window: `acquire()` resolves when a call may be made now, waiting otherwise.
 *
 * Calls have a priority (issue #14, finding 4: lookups must not starve releases):
 * - `urgent` (lockdown steps: isolate, release, cancel, status) may use the whole budget and is
 *   served before anything waiting;
 * - `background` (the inventory sync) and `interactive` (lookups) share what is left after a
 *   reserve kept for urgent calls; interactive before background;
 * - at most `maxInteractiveWaiters` lookups wait at once: more are refused at once
 *   ({@link MdeBusyError}), never queued behind each other for minutes.
 * Callers of one priority are served in arrival order.
 */
export type CallPriority = 'urgent' | 'interactive' | 'background';

export interface CallBudget {
  acquire(priority?: CallPriority): Promise<void>;
  /** Defender said 429: nobody calls until `untilMs`. */
  pauseUntil(untilMs: number): void;
}

export interface BudgetOptions {
  perMinute?: number;
  perHour?: number;
  /** calls a minute / an hour only urgent calls may use (default a third of each) */
  reservedPerMinute?: number;
  reservedPerHour?: number;
  maxInteractiveWaiters?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Too many lookups are already waiting for Defender's budget: try again shortly. */
export class MdeBusyError extends HostlockError {
  override readonly name: string = 'MdeBusyError';
  constructor() {
    super('Defender is busy with other calls just now; try the lookup again in a minute.', {
      code: 'mde_busy',
      retryable: true,
    });
  }
}

export const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const ORDER: readonly CallPriority[] = ['urgent', 'interactive', 'background'];

export function createCallBudget(opts: BudgetOptions = {}): CallBudget {
  const perMinute = opts.perMinute ?? 90;
  const perHour = opts.perHour ?? 1400;
  const reservedMinute = Math.min(perMinute - 1, opts.reservedPerMinute ?? Math.floor(perMinute / 3));
  const reservedHour = Math.min(perHour - 1, opts.reservedPerHour ?? Math.floor(perHour / 3));
  const maxInteractive = opts.maxInteractiveWaiters ?? 16;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const stamps: number[] = []; // call times within the last hour, oldest first
  const queues: Record<CallPriority, Array<() => void>> = { urgent: [], interactive: [], background: [] };
  let pausedUntil = 0;
  let pumping = false;
  let wake: (() => void) | undefined;

  function waitMs(t: number, p: CallPriority): number {
    while (stamps.length && (stamps[0] ?? 0) <= t - 3_600_000) {
      stamps.shift();
    }
    const hourCap = p === 'urgent' ? perHour : perHour - reservedHour;
    const minuteCap = p === 'urgent' ? perMinute : perMinute - reservedMinute;
    let wait = Math.max(0, pausedUntil - t);
    if (stamps.length >= hourCap) {
      wait = Math.max(wait, (stamps[stamps.length - hourCap] ?? t) + 3_600_000 - t);
    }
    const lastMinute = stamps.filter((s) => s > t - 60_000);
    if (lastMinute.length >= minuteCap) {
      wait = Math.max(wait, (lastMinute[lastMinute.length - minuteCap] ?? t) + 60_000 - t);
    }
    return wait;
  }

  // One loop serves every queue: the highest priority whose head may go now goes; otherwise it
  // sleeps until the soonest may, and wakes early when a new caller arrives (it may be urgent).
  async function pump(): Promise<void> {
    if (pumping) {
      wake?.();
      return;
    }
    pumping = true;
    let yielded = false;
    try {
      for (;;) {
        const waiting = ORDER.filter((p) => queues[p].length > 0);
        if (waiting.length === 0) {
          return;
        }
        const t = now();
        const ready = waiting.find((p) => waitMs(t, p) === 0);
        if (ready) {
          stamps.push(t);
          queues[ready].shift()?.();
          yielded = false;
          continue;
        }
        if (!yielded) {
          // let the callers served so far start their calls before time moves on
          yielded = true;
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        yielded = false;
        const soonest = Math.min(...waiting.map((p) => waitMs(t, p)));
        await Promise.race([sleep(soonest), new Promise<void>((r) => (wake = r))]);
        wake = undefined;
      }
    } finally {
      pumping = false;
    }
  }

  return {
    acquire(priority = 'urgent') {
      if (priority === 'interactive' && queues.interactive.length >= maxInteractive) {
        return Promise.reject(new MdeBusyError());
      }
      return new Promise<void>((resolve) => {
        queues[priority].push(resolve);
        void pump();
      });
    },
    pauseUntil(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
    },
  };
}

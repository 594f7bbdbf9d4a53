import { AsyncLocalStorage } from 'node:async_hooks';
import { BUDGET_SPENT, type CallCaps, type CallLedger } from '../core/defender-budget.js';
import { HostlockError } from '../core/errors.js';
import { memoryCallLedger } from './memory-ledger.js';

/**
 * Client-side call budget that keeps hostlock under Defender's documented limits (100 calls/min and
 * 1,500 calls/h per API, mde-api.md §7) with some headroom for other tools sharing the app. The
 * calls are counted in a {@link CallLedger}: in PostgreSQL for a running hostlock, so every
 * replica spends one budget (issue #15, item 8); this module decides whose turn it is.
 *
 * Calls have a priority (issue #14, finding 4: lookups must not starve releases):
 * - `urgent` (lockdown steps: isolate, release, cancel, status) may use the whole budget and is
 *   served before anything waiting;
 * - `background` (the inventory sync) and `interactive` (lookups) share what is left after a
 *   reserve kept for urgent calls; interactive before background;
 * - at most `maxInteractiveWaiters` lookups wait at once: more are refused at once
 *   ({@link MdeBusyError}), never queued behind each other for minutes.
 * Callers of one priority are served in arrival order.
 *
 * A lockdown step must not wait for budget while it holds its row lock: it sets its calls aside
 * first ({@link CallBudget.withCalls}); inside, calls spend what was set aside and never wait —
 * beyond it, or when Defender says 429, they fail at once ({@link MdeBudgetSpentError}) and the
 * step is tried again later.
 */
export type CallPriority = 'urgent' | 'interactive' | 'background';

export interface CallBudget {
  /** Resolves when a call may be made now. Inside {@link withCalls}: spends a call set aside, never waits. */
  acquire(priority?: CallPriority): Promise<void>;
  /** Waits (holding nothing) until `calls` calls are set aside, then runs `fn`; gives back what it did not spend. */
  withCalls<T>(priority: CallPriority, calls: number, fn: () => Promise<T>): Promise<T>;
  /** True inside {@link withCalls}: a 429 there is not waited out. */
  inReservation(): boolean;
  /** Defender said 429: nobody (on any replica) calls until `untilMs`. */
  pauseUntil(untilMs: number): Promise<void>;
}

export interface BudgetOptions {
  perMinute?: number;
  perHour?: number;
  /** calls a minute / an hour only urgent calls may use (default a third of each) */
  reservedPerMinute?: number;
  reservedPerHour?: number;
  maxInteractiveWaiters?: number;
  /** where calls are counted; default: this process only ({@link memoryCallLedger}) */
  ledger?: CallLedger;
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

/** A step spent the calls it set aside, or Defender asked to wait: the step is tried again later. */
export class MdeBudgetSpentError extends HostlockError {
  override readonly name: string = 'MdeBudgetSpentError';
  constructor(why: string) {
    super(`Defender call budget: ${why}; the step is tried again shortly`, {
      code: BUDGET_SPENT,
      retryable: true,
    });
  }
}

export const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const ORDER: readonly CallPriority[] = ['urgent', 'interactive', 'background'];
/** Other replicas may give calls back early: a waiting process looks again at least this often. */
const MAX_WAIT_MS = 1_000;
/**
 * A call set aside is counted when it is granted: one not sent within this long (the step waited
 * on Defender's answer to an earlier call) is given back and taken anew, so the ledger's minute is
 * the minute in which calls are sent, within a second (review M4).
 */
const SET_ASIDE_FRESH_MS = 1_000;

interface Waiter {
  n: number;
  resolve: (ids: readonly string[]) => void;
  reject: (e: unknown) => void;
}

export function createCallBudget(opts: BudgetOptions = {}): CallBudget {
  const perMinute = opts.perMinute ?? 90;
  const perHour = opts.perHour ?? 1400;
  const reservedMinute = Math.min(perMinute - 1, opts.reservedPerMinute ?? Math.floor(perMinute / 3));
  const reservedHour = Math.min(perHour - 1, opts.reservedPerHour ?? Math.floor(perHour / 3));
  const maxInteractive = opts.maxInteractiveWaiters ?? 16;
  const ledger = opts.ledger ?? memoryCallLedger(opts.now);
  const clock = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const queues: Record<CallPriority, Waiter[]> = { urgent: [], interactive: [], background: [] };
  const reservation = new AsyncLocalStorage<{ ids: string[]; at: number }>();
  let pumping = false;
  let arrived = false;
  let wake: (() => void) | undefined;

  const capsOf = (p: CallPriority): CallCaps =>
    p === 'urgent'
      ? { perMinute, perHour }
      : { perMinute: perMinute - reservedMinute, perHour: perHour - reservedHour };

  // One loop serves every queue, strictly by priority: the head of the highest non-empty queue
  // goes when the ledger grants it; until then nothing below it goes. It sleeps until the grant
  // may fit, and wakes early when a new caller arrives (it may be urgent).
  async function pump(): Promise<void> {
    if (pumping) {
      arrived = true;
      wake?.();
      return;
    }
    pumping = true;
    try {
      for (;;) {
        arrived = false;
        const p = ORDER.find((q) => queues[q].length > 0);
        const head = p ? queues[p][0] : undefined;
        if (!p || !head) {
          return;
        }
        let grant: Awaited<ReturnType<CallLedger['take']>>;
        try {
          grant = await ledger.take(head.n, capsOf(p));
        } catch (e) {
          queues[p].shift();
          head.reject(e);
          continue;
        }
        if (grant.taken) {
          queues[p].shift();
          head.resolve(grant.ids);
          continue;
        }
        if (arrived) {
          continue; // someone came while we asked: they may go first
        }
        await Promise.race([
          sleep(Math.min(grant.retryInMs, MAX_WAIT_MS)),
          new Promise<void>((r) => (wake = r)),
        ]);
        wake = undefined;
      }
    } finally {
      pumping = false;
    }
  }

  function wait(priority: CallPriority, n: number): Promise<readonly string[]> {
    if (priority === 'interactive' && queues.interactive.length >= maxInteractive) {
      return Promise.reject(new MdeBusyError());
    }
    return new Promise((resolve, reject) => {
      queues[priority].push({ n, resolve, reject });
      void pump();
    });
  }

  return {
    async acquire(priority = 'urgent') {
      const set = reservation.getStore();
      if (!set) {
        await wait(priority, 1);
        return;
      }
      const id = set.ids.pop();
      if (id !== undefined && clock() - set.at <= SET_ASIDE_FRESH_MS) {
        return;
      }
      if (id !== undefined) {
        void ledger.giveBack([id]).catch(() => {}); // stale: counted where it was not sent
      }
      // more calls than the step set aside, or set aside too long ago: one more if it is free now,
      // never a wait
      const grant = await ledger.take(1, capsOf(priority));
      if (!grant.taken) {
        throw new MdeBudgetSpentError('no call left for this step just now');
      }
    },
    async withCalls(priority, calls, fn) {
      const ids = calls > 0 ? [...(await wait(priority, calls))] : [];
      const set = { ids, at: clock() };
      try {
        return await reservation.run(set, fn);
      } finally {
        if (set.ids.length) {
          // Not awaited: a step's outcome (often an error from a connection that died under it)
          // must not wait on the database again. Calls not given back age out within the minute.
          void ledger.giveBack(set.ids).catch(() => {});
        }
      }
    },
    inReservation: () => reservation.getStore() !== undefined,
    pauseUntil: (untilMs) => ledger.pauseUntil(untilMs),
  };
}

/**
 * Where Defender calls are counted (issue #15, item 8): one ledger shared by every hostlock
 * replica (db/repos/mde-calls.ts over PostgreSQL), so that together they stay under Defender's
 * limits (100 calls a minute and 1 500 an hour per app, mde-api.md §7). src/mde/budget.ts decides
 * who may call next; the ledger only counts and remembers Defender's "wait" (429 Retry-After).
 */
export interface CallCaps {
  /** at most this many calls in any minute (a minute and a second: see {@link MINUTE_WINDOW_MS}) */
  perMinute: number;
  /** at most this many calls in any hour */
  perHour: number;
}

export type CallGrant = { taken: true; ids: readonly string[] } | { taken: false; retryInMs: number };

export interface CallLedger {
  /**
   * Records `n` calls made now if, with them, neither window holds more than `caps`; otherwise
   * records nothing and says how long until they would fit (or until Defender's pause ends).
   * Atomic across replicas.
   */
  take(n: number, caps: CallCaps): Promise<CallGrant>;
  /** Forgets calls taken and then not made, so others may make them. */
  giveBack(ids: readonly string[]): Promise<void>;
  /** Defender answered 429: no replica calls before `untilMs` (epoch ms). */
  pauseUntil(untilMs: number): Promise<void>;
}

/**
 * The minute window is a second longer than a minute: a call is counted when it is granted and
 * reaches Defender a little later, so a window of exactly 60 s could let Defender see one call too
 * many in a minute of its own.
 */
export const MINUTE_WINDOW_MS = 61_000;
export const HOUR_WINDOW_MS = 3_601_000;

/** The error code of a step's Defender call refused by the budget (src/mde/budget.ts): retried, not counted. */
export const BUDGET_SPENT = 'mde_budget_spent';

export const isBudgetSpent = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === BUDGET_SPENT;

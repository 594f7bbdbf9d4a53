import type { LockdownState } from '../lockdown-states.js';

export type LockdownSource = 'manual' | 'auto' | 'api';
export type ReleaseReason = 'manual' | 'expired' | 'external';

/** What made an automatic lockdown: the host's scores and the thresholds they reached (DESIGN §3.6). */
export interface AutoTrigger {
  threat: number;
  certainty: number;
  privilege: number;
  /** ISO time the scores were computed */
  computedAt: string;
  thresholds: { threat: number; certainty: number; privilege: number };
}

/** A lockdown row (DESIGN §4); `state` moves only by compare-and-set (see LockdownStore.transition). */
export interface Lockdown {
  id: string;
  machineId: string;
  hostName: string;
  state: LockdownState;
  durationMinutes: number;
  reason: string;
  requestedBy: string;
  approvedBy: string | null;
  decidedAt: Date | null;
  source: LockdownSource;
  mdeActionId: string | null;
  mdeReleaseActionId: string | null;
  lockedAt: Date | null;
  expiresAt: Date | null;
  releasedAt: Date | null;
  releaseReason: ReleaseReason | null;
  releasedBy: string | null;
  attempts: number;
  lastError: string | null;
  requestChannel: string | null;
  approvalChannel: string | null;
  approvalTs: string | null;
  nextCheckAt: Date | null;
  pendingNotedAt: Date | null;
  remindedAt: Date | null;
  breakGlass: boolean;
  trigger: AutoTrigger | null;
  createdAt: Date;
  updatedAt: Date;
}

export type LockdownPatch = Partial<Omit<Lockdown, 'id' | 'machineId' | 'createdAt'>>;

export interface NewLockdown {
  id: string;
  machineId: string;
  hostName: string;
  state: 'pending_approval' | 'approved';
  durationMinutes: number;
  reason: string;
  requestedBy: string;
  source: LockdownSource;
  requestChannel: string | null;
  breakGlass: boolean;
  trigger?: AutoTrigger;
  nextCheckAt: Date;
}

/** An audit row written in the same transaction as the change it records. */
export interface AuditRecord {
  actor: string;
  action: string;
  outcome: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
  /** a human sentence for the notification this change sends, when the event name alone says too little */
  note?: string;
}

/** Persistence of lockdowns; every method that changes state also writes its audit row. */
export interface LockdownStore {
  get(id: string): Promise<Lockdown | null>;
  /**
   * Inserts a new request; 'already_open' when the machine has one (partial unique index);
   * 'capped' when `autoCapPerHour` is given and that many automatic lockdowns were made in the last
   * hour (counted and inserted under one lock, so concurrent requests across processes cannot pass it).
   */
  insert(
    l: NewLockdown,
    audit: AuditRecord,
    opts?: { autoCapPerHour?: number },
  ): Promise<Lockdown | 'already_open' | 'capped'>;
  /** Compare-and-set: applies `patch` only if the row is in one of `from`; null when it was not. */
  transition(
    id: string,
    from: readonly string[],
    patch: LockdownPatch,
    audit?: AuditRecord,
  ): Promise<Lockdown | null>;
  /**
   * Runs `fn` holding the row's lock (one worker at a time per lockdown, across processes), with a
   * store bound to the same transaction; 'busy' when another worker holds it (or, with `wait`,
   * waits for it: for a person's click, which must not be refused because a timer was running).
   */
  withLock<T>(
    id: string,
    fn: (row: Lockdown, store: LockdownStore) => Promise<T>,
    opts?: { wait?: boolean },
  ): Promise<T | 'busy'>;
  /** Open lockdowns whose next check is due. */
  due(now: Date, limit: number): Promise<string[]>;
  openForMachine(machineId: string): Promise<Lockdown | null>;
  listOpen(limit: number): Promise<Lockdown[]>;
  history(machineId: string, limit: number): Promise<Lockdown[]>;
}

import type { IsolationType } from '../defender.js';
import type { EventName, ThreadNote } from '../events.js';
import type { LockdownState, Trigger } from './machine.js';

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
  /**
   * Who sent the scores: the feed token (`api:tok_…`) and the person it acts for. That person may
   * not approve the lockdown their feed triggered (the two-person rule, issue #14).
   */
  sentBy?: { via: string; actor: string };
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
  /** the API token a REST request came through (`api:tok_…`) */
  requestedVia: string | null;
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
  /** when the undecided request was escalated; null while it was not */
  escalatedAt: Date | null;
  remindedAt: Date | null;
  breakGlass: boolean;
  /** what Defender is asked for: chosen with the request, else the settings' default then */
  isolationType: IsolationType;
  trigger: AutoTrigger | null;
  /** the ticket it was asked under (`INC-123`), when one was given */
  ticket: string | null;
  /** its link, made by the settings' template when the request was made */
  ticketUrl: string | null;
  /** the request it was asked in with other hosts (`req_…`, issue #18, item 2); null when alone */
  requestId: string | null;
  /**
   * the requester has yet to confirm it (a request from a Workflow Builder step): it is not shown to
   * approvers, and nobody can decide it, until they do (confirmLockdown)
   */
  awaitingConfirmation: boolean;
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
  requestedVia: string | null;
  source: LockdownSource;
  requestChannel: string | null;
  breakGlass: boolean;
  isolationType: IsolationType;
  trigger?: AutoTrigger;
  ticket?: string | null;
  ticketUrl?: string | null;
  requestId?: string | null;
  awaitingConfirmation?: boolean;
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
  /** the notifications this change sends (machine.ts decides which), queued in the same transaction */
  events?: readonly EventName[];
}

/** Who made a transition and what to record beside it; the table (machine.ts) names the action and event. */
export interface TransitionBy {
  actor: string;
  /** the API token the actor acted through, recorded in the audit row */
  via?: string | null;
  details?: Record<string, unknown>;
  note?: string;
  /** a post for the lockdown's Slack thread, queued in the same transaction as the change */
  thread?: { name: EventName | ThreadNote; detail?: string };
}

/** Bookkeeping that never changes the state (that takes a transition). */
export type LockdownUpdate = Omit<LockdownPatch, 'state'>;

/**
 * Persistence of lockdowns. Every state change is `transition`: a compare-and-set whose `from`
 * states, target state, audit action and notification come from the transition table, written
 * with the audit row and the outbox rows in one transaction.
 */
export interface LockdownStore {
  get(id: string): Promise<Lockdown | null>;
  /**
   * Inserts a new request with its audit row and notifications; 'already_open' when the machine has
   * one (partial unique index); 'capped' when `autoCapPerHour` is given and that many automatic
   * lockdowns were made in the last hour (counted and inserted under one lock, so concurrent
   * requests across processes cannot pass it).
   */
  insert(
    l: NewLockdown,
    audit: AuditRecord,
    opts?: { autoCapPerHour?: number },
  ): Promise<Lockdown | 'already_open' | 'capped'>;
  /**
   * Inserts the lockdowns of one request of several hosts (issue #18, item 2) in one transaction,
   * each with its audit row and notifications. A host that got an open lockdown meanwhile is
   * 'already_open' and the others are still written; any other failure writes none. Answers in the
   * order of `rows`; machines are inserted in machine-id order, so overlapping requests never deadlock.
   */
  insertRequest(
    rows: ReadonlyArray<{ l: NewLockdown; audit: AuditRecord }>,
  ): Promise<Array<Lockdown | 'already_open'>>;
  /** The lockdowns of a request, by host name. */
  ofRequest(requestId: string): Promise<Lockdown[]>;
  /**
   * Moves every lockdown of a request whose state allows `trigger`, in one transaction, rows taken
   * in id order (so concurrent decisions cannot deadlock). `by.thread` is posted once, for the
   * first row moved. The rows moved, in id order; with `nowait`, 'busy' (and nothing moved) when
   * another transaction holds one of them: the engine never waits for a row while holding one.
   */
  transitionRequest(
    requestId: string,
    trigger: Trigger,
    patch: LockdownUpdate,
    by: TransitionBy,
    opts?: { nowait?: boolean },
  ): Promise<Lockdown[] | 'busy'>;
  /**
   * Takes the request's lock for the rest of the caller's transaction (the store must be bound to
   * one, as in `withLock`) if nobody else holds it; false at once when someone does. The engine
   * moves a request's pending hosts together only while holding it.
   */
  tryLockRequest(requestId: string): Promise<boolean>;
  /** Moves the row by `trigger` if its state allows it (machine.ts); null when it did not. */
  transition(id: string, trigger: Trigger, patch: LockdownUpdate, by: TransitionBy): Promise<Lockdown | null>;
  /** Writes bookkeeping only while the row is in one of `states`; null when it is not. */
  update(id: string, states: readonly LockdownState[], patch: LockdownUpdate): Promise<Lockdown | null>;
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
  /**
   * Queues a post in the lockdown's Slack thread (thread-note.ts), in the caller's transaction when
   * the store is bound to one; nothing when the lockdown has no thread.
   */
  note(l: Lockdown, name: EventName | ThreadNote, detail?: string): Promise<void>;
  /** Open lockdowns whose next check is due. */
  due(now: Date, limit: number): Promise<string[]>;
  openForMachine(machineId: string): Promise<Lockdown | null>;
  listOpen(limit: number): Promise<Lockdown[]>;
  history(machineId: string, limit: number): Promise<Lockdown[]>;
}

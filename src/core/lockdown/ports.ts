import type { Clock } from '../clock.js';
import type { Defender, DefenderPurpose } from '../defender.js';
import type { FaultHook } from '../faults.js';
import type { LookupGuard } from '../hosts/lookup-host.js';
import type { DefenderUnavailable, HostStore } from '../hosts/ports.js';
import type { Host } from '../hosts/types.js';
import type { Settings } from '../settings/settings.js';
import type { AuditLog } from '../store.js';
import type { Lockdown, LockdownStore } from './types.js';

/**
 * Tells people what happened, after the change committed (src/slack/announcer.ts). The request
 * becomes the root message of the lockdown's thread; every later event is a reply in it and
 * updates the root. Implementations log their own failures and never throw.
 */
/**
 * Where a request's root message went (its thread), or null; `problem` when it could not go where
 * it should (issue #15, item 4: the approver channel unreachable, so it went to the alert channels,
 * or nowhere): the requester is told and readiness names it.
 */
export interface RequestPost {
  thread: { channel: string; ts: string } | null;
  problem?: string;
}

/** Where an undecided request is escalated: a channel (with its buttons) and / or a user group mention. */
export interface Escalation {
  channel: string | null;
  usergroup: string | null;
}

export interface Announcer {
  /** Posts the root message (with Approve / Deny while pending); where it went, or null. */
  requested(l: Lockdown, host: Host | null): Promise<RequestPost>;
  /**
   * Posts the one root message of a request of several hosts (issue #18, item 2), listing every
   * host, with Approve / Deny for all of them while pending; the thread its lockdowns share.
   */
  requestedMany(lockdowns: Lockdown[]): Promise<RequestPost>;
  /** Tells the thread (mentioning the user group) and posts the request again in the escalation channel. */
  escalated(l: Lockdown, to: Escalation): Promise<void>;
}

export interface LockdownTiming {
  /** the slowest a pending Defender action is followed (issue #15, item 2: 1 s, 2 s, 4 s … up to this) */
  trackEveryMs: number;
  /** the first look after a submit, and after every status change */
  followFirstMs: number;
  /** waits before retrying a failed isolate / release, by attempt (last one repeats) */
  retryBackoffMs: readonly number[];
  /** failed attempts before a lockdown ends `failed` */
  maxAttempts: number;
  /** tell the thread that isolation is still pending after this long (device offline) */
  pendingNoteAfterMs: number;
  /** the reminder with Extend comes this long before the end */
  reminderBeforeMs: number;
}

export const DEFAULT_TIMING: LockdownTiming = {
  trackEveryMs: 15_000,
  followFirstMs: 1_000,
  retryBackoffMs: [30_000, 120_000, 300_000],
  maxAttempts: 3,
  pendingNoteAfterMs: 10 * 60_000,
  reminderBeforeMs: 15 * 60_000,
};

export interface LockdownDeps {
  /** the per-person Defender lookup quota, shared with /hostlock lookup (issue #14, finding 4) */
  lookupGuard?: LookupGuard;
  lockdowns: LockdownStore;
  hosts: HostStore;
  /** with `evenIfPaused`, a paused Defender is still handed out (to release, never to isolate) */
  defender: (opts?: {
    evenIfPaused?: boolean;
    purpose?: DefenderPurpose;
  }) => Promise<Defender | DefenderUnavailable>;
  settings: () => Promise<Settings>;
  clock: Clock;
  announce: Announcer;
  /** refusals by a rule (the two-person rule) are audited here; changes audit through the store */
  audit: AuditLog;
  /**
   * Asks the scheduler to advance this lockdown at `at` (a latency hint; the sweeper is the net);
   * `replaces` names an earlier wake-up that is no longer wanted (an extension moved the end).
   */
  wake: (lockdownId: string, at: Date, replaces?: Date | null) => Promise<void>;
  timing: LockdownTiming;
  /** crash points of the fault-injection suite (tests only; absent in production) */
  faults?: FaultHook;
}

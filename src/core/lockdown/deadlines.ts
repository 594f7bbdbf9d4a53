import type { Settings } from '../settings/settings.js';
import type { LockdownTiming } from './ports.js';
import type { Lockdown } from './types.js';

// Every deadline of a lockdown, computed here and nowhere else.

const MINUTE_MS = 60_000;

/** An undecided request expires at this moment. */
export function approvalDeadline(
  l: Pick<Lockdown, 'createdAt'>,
  s: Pick<Settings, 'approvalTimeoutMinutes'>,
): Date {
  return new Date(l.createdAt.getTime() + s.approvalTimeoutMinutes * MINUTE_MS);
}

/** When an undecided request is escalated, or null when it never is (off, or not before it expires). */
export function escalationAt(
  l: Pick<Lockdown, 'createdAt' | 'escalatedAt'>,
  s: Pick<Settings, 'escalateAfterMinutes' | 'approvalTimeoutMinutes'>,
): Date | null {
  if (l.escalatedAt || s.escalateAfterMinutes <= 0 || s.escalateAfterMinutes >= s.approvalTimeoutMinutes) {
    return null;
  }
  return new Date(l.createdAt.getTime() + s.escalateAfterMinutes * MINUTE_MS);
}

/**
 * The first look at an undecided request: its escalation when one is due before it expires, else
 * its deadline. (Looking only at the deadline would expire it without ever escalating it.)
 */
export function firstPendingCheck(
  l: Pick<Lockdown, 'createdAt' | 'escalatedAt'>,
  s: Pick<Settings, 'escalateAfterMinutes' | 'approvalTimeoutMinutes'>,
): Date {
  return escalationAt(l, s) ?? approvalDeadline(l, s);
}

/** The planned end of a lockdown isolated at `lockedAt`: it lasts at least its duration. */
export function plannedEnd(lockedAt: Date, l: Pick<Lockdown, 'durationMinutes'>): Date {
  return new Date(lockedAt.getTime() + l.durationMinutes * MINUTE_MS);
}

/** When the "ending soon" reminder (with Extend) is due. */
export function reminderAt(expiresAt: Date, timing: Pick<LockdownTiming, 'reminderBeforeMs'>): Date {
  return new Date(expiresAt.getTime() - timing.reminderBeforeMs);
}

/** The next look at an active lockdown: the reminder while it is ahead, else the end. */
export function nextActiveCheck(
  expiresAt: Date,
  o: { reminded: boolean; now: Date; timing: Pick<LockdownTiming, 'reminderBeforeMs'> },
): Date {
  const remind = reminderAt(expiresAt, o.timing);
  return !o.reminded && remind.getTime() > o.now.getTime() ? remind : expiresAt;
}

/**
 * The next look at a submitted Defender action (issue #15, item 2): fast at first and again after
 * every status change — about 1 s, 2 s, 4 s … as the time since the last change doubles — up to
 * `trackEveryMs`. So a host shows as locked within a couple of seconds of a quick success, and a
 * device that stays offline costs one call every `trackEveryMs`.
 */
export function nextFollowAt(
  at: Date,
  lastChange: Date | null,
  timing: Pick<LockdownTiming, 'trackEveryMs' | 'followFirstMs'>,
): Date {
  const fastest = Math.min(timing.followFirstMs, timing.trackEveryMs);
  const since = lastChange ? at.getTime() - lastChange.getTime() : 0;
  return new Date(at.getTime() + Math.min(timing.trackEveryMs, Math.max(fastest, since)));
}

/**
 * Defender keeps retrying an offline device for days (mde-api.md §6.1): an isolation still pending
 * when the lockdown's whole time has passed since approval is cancelled.
 */
export function isolationGiveUpAt(l: Pick<Lockdown, 'decidedAt' | 'createdAt' | 'durationMinutes'>): Date {
  return new Date((l.decidedAt ?? l.createdAt).getTime() + l.durationMinutes * MINUTE_MS);
}

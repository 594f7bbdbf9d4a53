import type { EventName } from '../events.js';

// The lockdown lifecycle (DESIGN §3.5) as data: the states, the triggers, and one table saying
// which trigger moves which state where and what it records. The store's compare-and-set takes its
// `from` states from this table, so a transition the table does not list can never be written.

/** Lockdown lifecycle states (DESIGN §3.5). */
export const LOCKDOWN_STATES = [
  'pending_approval',
  'approved',
  'denied',
  'approval_expired',
  'isolating',
  'active',
  'releasing',
  'released',
  'released_externally',
  'failed',
  'withdrawn',
  'cancelled',
] as const;
export type LockdownState = (typeof LOCKDOWN_STATES)[number];

/**
 * States in which a lockdown still holds its machine. The partial unique index
 * `lockdowns_one_open_per_machine` is built from this list, so at most one such row exists per machine.
 */
export const OPEN_LOCKDOWN_STATES = [
  'pending_approval',
  'approved',
  'isolating',
  'active',
  'releasing',
] as const satisfies readonly LockdownState[];
export type OpenLockdownState = (typeof OPEN_LOCKDOWN_STATES)[number];

/** Preset durations in hours; nothing else is accepted (DESIGN §3.5). */
export const LOCKDOWN_DURATIONS_HOURS = [1, 2, 4, 8, 12, 24] as const;

/** What a transition writes besides the row: its audit action, and the notification it sends, if any. */
export interface Effect {
  /** the audit row's action; the event's name when the transition notifies */
  audit: string | null;
  /** the notification event (DESIGN §3.8) queued with the change */
  event: EventName | null;
}

interface Transition extends Effect {
  from: readonly LockdownState[];
  to: LockdownState;
}

const t = (
  from: readonly LockdownState[],
  to: LockdownState,
  effect: { event?: EventName; audit?: string } = {},
): Transition => ({ from, to, event: effect.event ?? null, audit: effect.event ?? effect.audit ?? null });

/**
 * state × trigger → next state + effect. Each trigger names the states it may leave; everything
 * not listed is illegal and refused by the store. Same-state bookkeeping (next check, attempts,
 * errors) is not a transition: `LockdownStore.update` writes it only while the state is unchanged.
 */
export const TRANSITIONS = {
  /** the requester confirms a request a workflow made in their name; only then do approvers see it */
  confirm: t(['pending_approval'], 'pending_approval', { audit: 'lockdown.confirmed' }),
  /** an approver approves (never the requester) */
  approve: t(['pending_approval'], 'approved', { event: 'lockdown.approved' }),
  /** an approver denies */
  deny: t(['pending_approval'], 'denied', { event: 'lockdown.denied' }),
  /** nobody decided within the escalation time: asked again, louder, once */
  escalate: t(['pending_approval'], 'pending_approval', { event: 'lockdown.escalated' }),
  /** nobody decided before the approval deadline */
  expire_request: t(['pending_approval'], 'approval_expired', { event: 'lockdown.approval_expired' }),
  /** the engine is about to ask Defender to isolate */
  start_isolation: t(['approved'], 'isolating'),
  /** Defender reports the isolation Succeeded */
  isolated: t(['isolating'], 'active', { event: 'lockdown.locked' }),
  /** a person (or a token) releases before the end */
  release: t(['active'], 'releasing', { audit: 'lockdown.release_started' }),
  /** the planned end has come */
  expire: t(['active'], 'releasing', { audit: 'lockdown.release_started' }),
  /** the end moves later */
  extend: t(['active'], 'active', { event: 'lockdown.extended' }),
  /** Defender reports the release Succeeded */
  released: t(['releasing'], 'released', { event: 'lockdown.released' }),
  /** someone released (or re-isolated) the host outside hostlock */
  released_outside: t(['active', 'releasing'], 'released_externally', { event: 'host.released_externally' }),
  /** the requester (or anyone with lockdown:edit) takes back a request nobody decided yet */
  withdraw: t(['pending_approval'], 'withdrawn', { event: 'lockdown.withdrawn' }),
  /**
   * unlock once approved: recorded on the row (`releasedBy`); the engine then asks Defender at once
   * (a step that crashed after its isolate POST leaves the row `approved`: "nothing sent" cannot be
   * assumed) and cancels the action, releases what already succeeded, or ends the lockdown
   */
  request_stop: t(['isolating'], 'isolating', { audit: 'lockdown.stop_requested' }),
  request_stop_approved: t(['approved'], 'approved', { audit: 'lockdown.stop_requested' }),
  /** the engine cancelled Defender's isolation before it finished (or none was ever sent) */
  cancel_isolation: t(['isolating'], 'cancelled', { event: 'lockdown.cancelled' }),
  /** Defender has kept the isolation / release Pending past the stuck limit (device offline?) */
  isolation_stuck: t(['isolating'], 'isolating', { event: 'lockdown.stuck' }),
  release_stuck: t(['releasing'], 'releasing', { event: 'lockdown.stuck' }),
  /** retries are spent, or the isolation cannot be done */
  fail: t(['approved', 'isolating', 'releasing'], 'failed', { event: 'lockdown.failed' }),
} as const satisfies Record<string, Transition>;

export type Trigger = keyof typeof TRANSITIONS;
export const TRIGGERS = Object.keys(TRANSITIONS) as Trigger[];

/** The state `trigger` moves `state` to, or null when the table does not allow it. */
export function nextState(state: LockdownState, trigger: Trigger): LockdownState | null {
  const tr: Transition = TRANSITIONS[trigger];
  return tr.from.includes(state) ? tr.to : null;
}

/** What a request records as it is made: approved at once when approval is not required. */
export const REQUEST_EVENTS: Record<'pending_approval' | 'approved', readonly EventName[]> = {
  pending_approval: ['lockdown.requested'],
  approved: ['lockdown.requested', 'lockdown.approved'],
};

export const isOpen = (s: LockdownState): s is OpenLockdownState =>
  (OPEN_LOCKDOWN_STATES as readonly string[]).includes(s);

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

/** Preset durations in hours; nothing else is accepted (DESIGN §3.5). */
export const LOCKDOWN_DURATIONS_HOURS = [1, 2, 4, 8, 12, 24] as const;

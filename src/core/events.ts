/** Notification events (DESIGN §3.8): contract names for outbox rows, Slack and syslog. */
export const EVENTS = [
  'lockdown.requested',
  'lockdown.approved',
  'lockdown.denied',
  'lockdown.locked',
  'lockdown.released',
  'lockdown.approval_expired',
  'lockdown.extended',
  'lockdown.failed',
  'auto.suppressed',
  'host.isolated_externally',
  'host.released_externally',
  'settings.changed',
] as const;
export type EventName = (typeof EVENTS)[number];

/** Thread-only progress notes of a lockdown: told in its Slack thread, not sent to other sinks. */
export type ThreadNote = 'isolation_pending' | 'ending_soon' | 'break_glass';

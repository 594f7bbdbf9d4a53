/**
 * Named points where the fault-injection suite (`npm run test:faults`, issue #9) kills the process,
 * to prove that a crash at each one converges without a second Defender action and with at most
 * one duplicate notification. Off unless `HOSTLOCK_CRASH_AT` names a point (tests only).
 */
export const CRASH_POINTS = [
  /** the row is committed `approved`; the isolate call is about to go out */
  'after_approve_commit',
  /** Defender answered the isolate; its action id is not saved yet */
  'after_isolate_submit',
  /** Defender answered a status poll of the isolation; nothing saved yet */
  'during_isolation_poll',
  /** Defender answered the release; its action id is not saved yet */
  'after_release_submit',
  /** an outbox row is committed and claimed; it is about to be sent */
  'after_outbox_commit',
  /** a sink took the row; it is not marked delivered yet */
  'after_sink_send',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Called at each crash point; the production hook kills the process when the point is the configured one. */
export type FaultHook = (point: CrashPoint) => void;

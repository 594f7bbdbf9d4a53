import type { EventName } from '../core/events.js';

/**
 * One notification as every sink sees it (DESIGN §3.8): what happened, to which host, by whom.
 * The syslog formatters (`syslog/cef.ts`, `syslog/rfc5424.ts`, `syslog/json.ts`) turn it into one
 * line each. Every string in it may be attacker-influenced (host names come from the Defender
 * fleet, reasons and names from Slack users): the formatters escape, replace and truncate them.
 */
export interface NotificationEvent {
  /** Stable event id (`evt_…`), the same on every retry, so receivers can drop duplicates. */
  id: string;
  name: EventName;
  /** When it happened (not when it was delivered). */
  at: Date;
  /** The machine concerned; `null` for events about no host (`settings.changed`). */
  host: { name: string; machineId: string; ips?: string[] } | null;
  /** Who acted: `slack:U…`, `api:tok_…` or `system:…`; `null` when nobody did. */
  actor: string | null;
  /** Display name of the actor (a Slack user name, a token name), when known. */
  actorName?: string;
  /** The lockdown this event is about, as it stood after the change. */
  lockdown?: NotificationLockdown;
  /** `ok`: the change happened; `denied`: refused by a rule or a person; `failed`: an error. */
  outcome: 'ok' | 'denied' | 'failed';
  /** Free text: the refusal or failure, what changed in settings, why automation held back. */
  detail?: string;
  /** Link back for a human: the Slack thread permalink or the Defender action page. */
  url?: string;
}

/** The lockdown fields a notification carries (DESIGN §4 `lockdowns`). */
export interface NotificationLockdown {
  id: string;
  state: string;
  durationMinutes: number;
  reason: string;
  /** Planned automatic release. */
  expiresAt: Date | null;
  /** When the host was isolated; `null` while it never was. */
  lockedAt: Date | null;
  releaseReason: string | null;
}

import { newId } from './ids.js';

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
  'lockdown.withdrawn',
  'lockdown.cancelled',
  'lockdown.stuck',
  'lockdown.escalated',
  'auto.suppressed',
  'host.isolated_externally',
  'host.released_externally',
  'settings.changed',
] as const;
export type EventName = (typeof EVENTS)[number];

/** Thread-only progress notes of a lockdown: told in its Slack thread, not sent to other sinks. */
export type ThreadNote = 'ending_soon' | 'break_glass' | 'hosts_left_out';

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
  /**
   * The person a SIEM line names as Vectra's `user` when it is not the actor: who approved (else
   * asked for) a lock that hostlock's engine carried out. Absent: the actor.
   */
  userId?: string;
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
  /** `manual`, `api` or `auto` */
  source?: string;
  /** who asked (`slack:U…`, `api:tok_…`, `system:auto`) */
  requestedBy?: string;
  /** the lockdown's Slack thread (its approval message), once posted: what syslog's link points at */
  thread?: { channel: string; ts: string };
  /** the ticket it was asked under, and its link (issue #18, item 5) */
  ticket?: string;
  ticketUrl?: string;
}

/** The outbox payload of an event: JSON with dates as ISO strings ({@link parseEventPayload} reverses it). */
export function eventPayload(e: NotificationEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
}

const date = (v: unknown): Date | null => (typeof v === 'string' ? new Date(v) : null);

/** An event back from its outbox payload. */
export function parseEventPayload(p: Record<string, unknown>): NotificationEvent {
  const e = p as unknown as NotificationEvent & { at: string };
  const l = e.lockdown as (NotificationLockdown & Record<string, unknown>) | undefined;
  return {
    ...e,
    at: new Date(e.at),
    ...(l
      ? {
          lockdown: {
            ...l,
            expiresAt: date(l.expiresAt),
            lockedAt: date(l.lockedAt),
          },
        }
      : {}),
  };
}

/** `settings.changed`: who changed what (names of fields only, never values). */
export function settingsChangedEvent(id: string, actor: string, detail: string, at: Date): NotificationEvent {
  return { id, name: 'settings.changed', at, host: null, actor, outcome: 'ok', detail };
}

/** A host isolated, or an outside isolation released, by someone other than hostlock (seen by the sync). */
export function externalIsolationEvent(
  name: 'host.isolated_externally' | 'host.released_externally',
  host: NonNullable<NotificationEvent['host']>,
  at: Date,
): NotificationEvent {
  return {
    id: newId('evt'),
    name,
    at,
    host,
    actor: null,
    outcome: 'ok',
    detail:
      name === 'host.isolated_externally'
        ? 'isolated outside hostlock (e.g. in the Defender portal); hostlock will never release it'
        : 'an isolation made outside hostlock was released outside hostlock',
  };
}

/** `auto.suppressed`: automation held back (exclusion, dry run, hourly cap); `detail` says what it would have done. */
export function autoSuppressedEvent(
  host: NonNullable<NotificationEvent['host']>,
  detail: string,
  at: Date,
): NotificationEvent {
  return {
    id: newId('evt'),
    name: 'auto.suppressed',
    at,
    host,
    actor: 'system:auto',
    outcome: 'denied',
    detail,
  };
}

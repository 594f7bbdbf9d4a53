import { isIP } from 'node:net';
import type { EventName, NotificationEvent } from '../../core/events.js';
import { isVectraEvent } from '../../core/sinks.js';

/**
 * Per-event facts shared by the CEF, RFC 5424 and JSON formatters. Vectra sends only `lock` and
 * `unlock` with `category` `HOST_LOCKDOWN` (syslog.md §2); our other events keep that category
 * and say what happened in `action`, so a SIEM rule on `action=lock` still sees only isolations.
 */
interface Facts {
  action: string;
  /** CEF Name (syslog.md §1.1: human-readable, repeats no other field). */
  title: string;
  category: string;
}

const LOCKDOWN = 'HOST_LOCKDOWN';
const HOSTLOCK = 'HOSTLOCK';

const FACTS: Record<EventName, Facts> = {
  'lockdown.requested': { action: 'request', title: 'Lockdown requested', category: LOCKDOWN },
  'lockdown.approved': { action: 'approve', title: 'Lockdown approved', category: LOCKDOWN },
  'lockdown.denied': { action: 'deny', title: 'Lockdown denied', category: LOCKDOWN },
  'lockdown.locked': { action: 'lock', title: 'Host locked down', category: LOCKDOWN },
  'lockdown.released': { action: 'unlock', title: 'Host released', category: LOCKDOWN },
  'lockdown.approval_expired': { action: 'expire', title: 'Lockdown request expired', category: LOCKDOWN },
  'lockdown.extended': { action: 'extend', title: 'Lockdown extended', category: LOCKDOWN },
  'lockdown.failed': { action: 'lock', title: 'Lockdown failed', category: LOCKDOWN },
  'lockdown.withdrawn': { action: 'withdraw', title: 'Lockdown request withdrawn', category: LOCKDOWN },
  'lockdown.escalated': { action: 'escalate', title: 'Lockdown request escalated', category: LOCKDOWN },
  'lockdown.stuck': { action: 'stuck', title: 'Defender action stuck', category: LOCKDOWN },
  'lockdown.cancelled': {
    action: 'cancel',
    title: 'Lockdown cancelled before isolation',
    category: LOCKDOWN,
  },
  'auto.suppressed': { action: 'suppress', title: 'Automatic lockdown held back', category: LOCKDOWN },
  'host.isolated_externally': { action: 'lock', title: 'Host isolated outside hostlock', category: LOCKDOWN },
  'host.released_externally': {
    action: 'unlock',
    title: 'Host released outside hostlock',
    category: LOCKDOWN,
  },
  'settings.changed': { action: 'settings', title: 'Settings changed', category: 'AUDIT' },
};

/**
 * Vectra's `action` (`cs1`, SD `action`, JSON `action`; CEF `act` in the standard profile).
 * `lockdown.failed` is `lock` when the host was never isolated, else `unlock` (the release failed).
 */
export function eventAction(e: NotificationEvent): string {
  if (e.name === 'lockdown.failed') {
    return e.lockdown?.lockedAt ? 'unlock' : 'lock';
  }
  return FACTS[e.name].action;
}

export function eventTitle(e: NotificationEvent): string {
  return FACTS[e.name].title;
}

/**
 * `category`: Vectra's `HOST_LOCKDOWN` for the events Vectra sends (a lock, an unlock), `AUDIT`
 * for settings changes, `HOSTLOCK` for hostlock's own events, so no content-keyed SIEM rule takes
 * a request or an outside isolation for a Vectra host lockdown.
 */
export function eventCategory(e: NotificationEvent): string {
  if (isVectraEvent(e)) {
    return LOCKDOWN;
  }
  return FACTS[e.name].category === LOCKDOWN ? HOSTLOCK : FACTS[e.name].category;
}

/** Vectra's `success`: only an `ok` outcome counts. */
export function isSuccess(e: NotificationEvent): boolean {
  return e.outcome === 'ok';
}

/**
 * Vectra's `willRetry`: a failure while the lockdown is still `isolating` or `releasing` is retried
 * with backoff (DESIGN §3.5); once it is `failed` it has been surfaced and nothing retries.
 */
export function willRetry(e: NotificationEvent): boolean {
  const state = e.lockdown?.state;
  return e.outcome === 'failed' && (state === 'isolating' || state === 'releasing');
}

/** Python-style `True` / `False`, as in Vectra's CEF and SD values (syslog.md §2). */
export function pyBool(value: boolean): 'True' | 'False' {
  return value ? 'True' : 'False';
}

function time(d: Date | null | undefined): number | null {
  const t = d?.getTime();
  return t === undefined || Number.isNaN(t) ? null : t;
}

/** Epoch milliseconds, as CEF `rt`/`start`/`end` take them (syslog.md §1.3); `null` when absent. */
export function epochMs(d: Date | null | undefined): string | null {
  const t = time(d);
  return t === null ? null : String(t);
}

/** Whole epoch seconds as a string, Vectra JSON `vectra_timestamp` (syslog.md §2). */
export function epochSeconds(d: Date | null | undefined): string | null {
  const t = time(d);
  return t === null ? null : String(Math.floor(t / 1000));
}

/** Epoch seconds with one decimal, truncated (Vectra SD `UTCTime="1591212505.8"`, syslog.md §2). */
export function epochDeciseconds(d: Date | null | undefined): string | null {
  const t = time(d);
  if (t === null) {
    return null;
  }
  const tenths = Math.floor(t / 100);
  const sign = tenths < 0 ? '-' : '';
  const abs = Math.abs(tenths);
  return `${sign}${Math.floor(abs / 10)}.${abs % 10}`;
}

/** RFC 3339 UTC with milliseconds, or `null` for an absent or invalid date (and years past 9999). */
export function rfc3339(d: Date | null | undefined): string | null {
  const t = time(d);
  if (t === null || d == null) {
    return null;
  }
  const s = d.toISOString();
  return s.length === 24 ? s : null;
}

/** The host's addresses that really are IPv4 / IPv6 literals; anything else is dropped. */
export function hostIps(e: NotificationEvent): { v4: string[]; v6: string[] } {
  const ips = e.host?.ips ?? [];
  return { v4: ips.filter((ip) => isIP(ip) === 4), v6: ips.filter((ip) => isIP(ip) === 6) };
}

/** The acting user as Vectra's `user`/`suser` shows it: the display name, else the actor id. */
export function actorLabel(e: NotificationEvent): string {
  return e.actorName ?? e.actor ?? '';
}

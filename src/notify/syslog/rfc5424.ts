import type { NotificationEvent } from '../../core/events.js';
import {
  actorLabel,
  epochDeciseconds,
  eventAction,
  eventCategory,
  hostIps,
  isSuccess,
  pyBool,
  rfc3339,
  willRetry,
} from './fields.js';
import { eventSeverity, type Facility, rfc5424Line } from './framing.js';
import { escapeWithin, foldLineBreaks, isUnsafeCodePoint, REPLACEMENT } from './text.js';

export interface Rfc5424Options {
  /** HOSTNAME of this hostlock instance (FQDN preferred, syslog.md §3.1). */
  hostname: string;
  /** APP-NAME, default `hostlock`. */
  appName?: string;
  /** IANA Private Enterprise Number of the SD-ID: 32473 in tests, 41261 (Vectra's) only on opt-in (§0.3). */
  pen: number;
  /** SD-ID name before `@`, default `host_lockdown`. */
  sdName?: string;
  /** PROCID, e.g. the process id; `-` when absent. */
  procId?: string;
  /** Default `local0`. */
  facility?: Facility;
  /** SD `dvc`: this instance's IP address (Vectra puts its brain's IP there). */
  dvc?: string;
}

/**
 * Cap on each SD value, in escaped UTF-8 bytes. RFC 5424 sets none; this keeps the whole message
 * well under the 8192 octets TLS receivers should take (syslog.md §3.3) with every field at its cap.
 */
export const SD_VALUE_MAX_BYTES = 1023;

/**
 * An SD PARAM-VALUE (syslog.md §3.2): `\` → `\\`, `"` → `\"`, `]` → `\]`, nothing else escaped;
 * CR/LF/CRLF → one space (RFC 5424 has no escape for them, and an LF splits LF-framed transports),
 * other unsafe code points (text.ts) → U+FFFD. Cut to `maxBytes` without splitting an escape.
 */
export function escapeSdValue(value: string, maxBytes: number = SD_VALUE_MAX_BYTES): string {
  return escapeWithin(
    foldLineBreaks(value),
    (ch, cp) => {
      if (ch === '\\' || ch === '"' || ch === ']') {
        return `\\${ch}`;
      }
      return isUnsafeCodePoint(cp) ? REPLACEMENT : ch;
    },
    maxBytes,
  );
}

/** SD-NAME: 1–32 printable US-ASCII except `=`, space, `]`, `"` (syslog.md §3.2). */
export const SD_NAME = /^[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;

/**
 * The private SD-ID `name@PEN` (syslog.md §3.2, Vectra's `host_lockdown@41261`). Throws a
 * RangeError for a name or PEN that would make the SD-ID invalid (a configuration error).
 */
export function sdId(name: string, pen: number): string {
  const id = `${name}@${pen}`;
  if (!Number.isSafeInteger(pen) || pen < 0 || name.includes('@') || !SD_NAME.test(id)) {
    throw new RangeError(
      `SD-ID ${JSON.stringify(id)} is invalid: want <name>@<PEN>, ≤ 32 printable characters`,
    );
  }
  return id;
}

/** Param values that absent data leaves out (Vectra's own params are always present, maybe empty). */
type Param = readonly [name: string, value: string | null | undefined];

function params(e: NotificationEvent, o: Rfc5424Options): Param[] {
  const l = e.lockdown;
  const ips = hostIps(e);
  const allIps = [...ips.v4, ...ips.v6];
  return [
    // Vectra's "standard" RFC 5424 params, in its order (syslog.md §2).
    ['category', eventCategory(e)],
    ['hostName', e.host?.name ?? ''],
    ['action', eventAction(e)],
    ['success', pyBool(isSuccess(e))],
    ['willRetry', pyBool(willRetry(e))],
    ['dvc', o.dvc ?? ''],
    ['user', actorLabel(e)],
    ['URL', e.url ?? ''],
    ['UTCTime', epochDeciseconds(e.at) ?? ''],
    // Ours.
    ['event', e.name],
    ['eventId', e.id],
    ['outcome', e.outcome],
    ['actorId', e.actor],
    ['machineId', e.host?.machineId],
    ['hostIps', allIps.length > 0 ? allIps.join(',') : null],
    ['lockdownId', l?.id],
    ['state', l?.state],
    ['durationMinutes', l ? String(l.durationMinutes) : null],
    ['reason', l?.reason],
    ['lockedAt', rfc3339(l?.lockedAt)],
    ['expiresAt', rfc3339(l?.expiresAt)],
    ['releaseReason', l?.releaseReason],
    ['ticket', l?.ticket],
    ['ticketUrl', l?.ticketUrl],
    ['detail', e.detail],
  ];
}

/**
 * The event's STRUCTURED-DATA: one element `[host_lockdown@<PEN> name="value" …]` with Vectra's
 * params first (syslog.md §2), then ours; each value per {@link escapeSdValue}.
 */
export function structuredData(e: NotificationEvent, o: Rfc5424Options): string {
  const id = sdId(o.sdName ?? 'host_lockdown', o.pen);
  const body = params(e, o)
    .filter((p): p is readonly [string, string] => p[1] != null)
    .map(([name, value]) => ` ${name}="${escapeSdValue(value)}"`)
    .join('');
  return `[${id}${body}]`;
}

/**
 * One RFC 5424 line (syslog.md §3): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD]`, MSGID
 * `LOCKDOWN` as Vectra's (`AUDIT` for `settings.changed`), PRI from the facility and the event's
 * severity (framing.ts), header fields per `rfc5424Line`, and an empty MSG as in Vectra's sample
 * (so no BOM: everything is in the SD).
 */
export function formatRfc5424(e: NotificationEvent, o: Rfc5424Options): string {
  return rfc5424Line({
    facility: o.facility ?? 'local0',
    severity: eventSeverity(e),
    at: e.at,
    hostname: o.hostname,
    appName: o.appName ?? 'hostlock',
    procId: o.procId,
    msgId: eventCategory(e) === 'HOST_LOCKDOWN' ? 'LOCKDOWN' : eventCategory(e),
    structuredData: structuredData(e, o),
  });
}

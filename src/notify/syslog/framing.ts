import type { EventName, NotificationEvent } from '../../core/events.js';
import { headerToken, isUnsafeCodePoint, REPLACEMENT } from './text.js';

/** Syslog facilities by name (RFC 5424 §6.2.1). hostlock defaults to `local0`, the doc's `<134>`. */
export const FACILITY = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  authpriv: 10,
  audit: 13,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type Facility = keyof typeof FACILITY;

/** Syslog severities (RFC 5424 §6.2.1), the ones hostlock uses. */
export const SEVERITY = { error: 3, warning: 4, notice: 5, info: 6 } as const;
export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

/**
 * Severity per event: the host's isolation changing (or being left alone by automation) is a
 * notice; bookkeeping (request, approval, extension) is info; a host released behind our back or
 * an automatic lockdown held back is a warning; a lockdown that failed for good is an error.
 */
const EVENT_SEVERITY: Record<EventName, Severity> = {
  'lockdown.requested': SEVERITY.info,
  'lockdown.approved': SEVERITY.info,
  'lockdown.denied': SEVERITY.notice,
  'lockdown.locked': SEVERITY.notice,
  'lockdown.released': SEVERITY.notice,
  'lockdown.approval_expired': SEVERITY.notice,
  'lockdown.extended': SEVERITY.info,
  'lockdown.failed': SEVERITY.error,
  'lockdown.withdrawn': SEVERITY.info,
  'lockdown.cancelled': SEVERITY.notice,
  'lockdown.stuck': SEVERITY.warning,
  'lockdown.escalated': SEVERITY.notice,
  'auto.suppressed': SEVERITY.warning,
  'host.isolated_externally': SEVERITY.notice,
  'host.released_externally': SEVERITY.warning,
  'settings.changed': SEVERITY.notice,
};

/** The event's syslog severity; a `failed` outcome is at least a warning, `denied` at least a notice. */
export function eventSeverity(e: NotificationEvent): Severity {
  const base = EVENT_SEVERITY[e.name];
  const cap =
    e.outcome === 'failed' ? SEVERITY.warning : e.outcome === 'denied' ? SEVERITY.notice : SEVERITY.info;
  return Math.min(base, cap) as Severity;
}

/**
 * CEF Severity (0–10, syslog.md §1.1) from the syslog one: error 7 (High), warning 5 (Medium),
 * notice 3 (Low, what Vectra sends for a lockdown), info 1.
 */
export function cefSeverity(e: NotificationEvent): number {
  return { 3: 7, 4: 5, 5: 3, 6: 1 }[eventSeverity(e)];
}

/** `<PRIVAL>` = facility × 8 + severity, no leading zeros (syslog.md §3.1). */
export function pri(facility: Facility, severity: Severity): string {
  return `<${FACILITY[facility] * 8 + severity}>`;
}

/** TAGs (syslog.md §1.5, §2): always one before `CEF:0|`, or receivers eat `CEF:` as the program. */
export const TAG = {
  hostlock: 'hostlock:',
  vectraCef: 'vectra_cef -:',
  vectraJson: 'vectra_json_host_lockdown -:',
  /** hostlock's own events (not Vectra's): never under a Vectra TAG, so no SIEM files them as one */
  hostlockCef: 'hostlock_cef -:',
  hostlockJson: 'hostlock_json -:',
} as const;

/** RFC 3164 packets "MUST be 1024 bytes or less" (syslog.md §4): the UDP sender's budget. */
export const RFC3164_MAX_BYTES = 1024;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** `Mmm dd hh:mm:ss` in UTC, day space-padded (`Jun  3`); no year, no zone (syslog.md §4). Throws on an invalid date. */
export function rfc3164Timestamp(at: Date): string {
  if (Number.isNaN(at.getTime())) {
    throw new RangeError('RFC 3164 timestamp of an invalid date');
  }
  const day = String(at.getUTCDate()).padStart(2, ' ');
  const time = `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}`;
  return `${MONTHS[at.getUTCMonth()]} ${day} ${time}`;
}

const TAG_SHAPE = /^[A-Za-z0-9_.-]{1,32}(?: -)?:$/;

/** Defence in depth: a framed line never carries a raw line break, whatever the payload did. */
function oneLine(msg: string): string {
  let out = '';
  for (const ch of msg) {
    out += isUnsafeCodePoint(ch.codePointAt(0) ?? 0) ? REPLACEMENT : ch;
  }
  return out;
}

/**
 * RFC 3164-style line `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG MSG` (syslog.md §4, §1.5), e.g.
 * `<13>Aug 21 09:24:00 bot-host vectra_cef -: CEF:0|…`. `tag` includes its colon (see {@link TAG});
 * a TAG is what stops receivers from taking `CEF:` as the program name. Throws on a malformed TAG
 * (configuration error). The caller keeps UDP lines within {@link RFC3164_MAX_BYTES}.
 */
export function rfc3164Line(o: {
  facility: Facility;
  severity: Severity;
  at: Date;
  hostname: string;
  tag: string;
  msg: string;
}): string {
  if (!TAG_SHAPE.test(o.tag)) {
    throw new RangeError(
      `syslog TAG ${JSON.stringify(o.tag)} must be 1-32 of [A-Za-z0-9_.-] then ":" or " -:"`,
    );
  }
  return `${pri(o.facility, o.severity)}${rfc3164Timestamp(o.at)} ${headerToken(o.hostname, 255)} ${o.tag} ${oneLine(o.msg)}`;
}

/**
 * RFC 5424 line `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]` (syslog.md §3.1, §3.3).
 * Header fields become printable US-ASCII cut to their limits (HOSTNAME 255, APP-NAME 48, PROCID
 * 128, MSGID 32), `-` when absent; an invalid date is `-`. `structuredData` must already be
 * well-formed (see `formatRfc5424`); absent, it is `-`. An empty MSG is left out with its space;
 * `bom` prefixes MSG with U+FEFF (off by default for CEF and JSON payloads, syslog.md §3.3).
 * Wrapping CEF this way is what syslog.md §1.5 verified with rsyslog + liblognorm.
 */
export function rfc5424Line(o: {
  facility: Facility;
  severity: Severity;
  at: Date;
  hostname: string;
  appName: string;
  procId?: string | undefined;
  msgId?: string | undefined;
  structuredData?: string | undefined;
  msg?: string | undefined;
  bom?: boolean | undefined;
}): string {
  const iso = Number.isNaN(o.at.getTime()) ? '-' : o.at.toISOString();
  const header = [
    `${pri(o.facility, o.severity)}1`,
    iso.length === 24 ? iso : '-',
    headerToken(o.hostname, 255),
    headerToken(o.appName, 48),
    headerToken(o.procId, 128),
    headerToken(o.msgId, 32),
    o.structuredData || '-',
  ].join(' ');
  if (!o.msg) {
    return header;
  }
  return `${header} ${o.bom ? '\uFEFF' : ''}${oneLine(o.msg)}`;
}

/** TCP framing (syslog.md §5): `octet` = RFC 6587/5425 `MSG-LEN SP MSG` (MSG-LEN in UTF-8 bytes); `lf` = line + LF. */
export type Framing = 'octet' | 'lf';

/** The bytes to write for one line on a stream transport; for UDP send `Buffer.from(line)` as is. */
export function frame(line: string, framing: Framing): Buffer {
  const body = Buffer.from(line, 'utf8');
  if (framing === 'lf') {
    return Buffer.concat([body, Buffer.from('\n')]);
  }
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

import type { NotificationEvent } from '../../core/events.js';
import {
  actorLabel,
  epochMs,
  eventAction,
  eventCategory,
  eventTitle,
  hostIps,
  isSuccess,
  pyBool,
  willRetry,
} from './fields.js';
import { cefSeverity } from './framing.js';
import {
  escapeWithin,
  foldLineBreaks,
  isUnsafeCodePoint,
  REPLACEMENT,
  trimBlanksEnd,
  trimBlanksStart,
} from './text.js';

/**
 * `vectra-compat`: the keys, order and casing of Vectra's Host Lockdown sample (syslog.md §2), then
 * our extras. `standard`: CEF dictionary keys (syslog.md §1.4).
 */
export type CefProfile = 'vectra-compat' | 'standard';

export interface CefOptions {
  /** Default `vectra-compat`. */
  profile?: CefProfile;
  /** Device Vendor, ≤ 63 bytes. Default `hostlock`; the sink passes `Vectra Networks` for Vectra's events. */
  vendor?: string;
  /** Device Product, ≤ 63 bytes. Default `hostlock`; the sink passes `X Series` for Vectra's events. */
  product?: string;
  /** Device Version (hostlock's version), ≤ 31 bytes. */
  version: string;
  /** `dvc`: this instance's IP address (Vectra puts its brain's IP there). Empty when unset. */
  dvc?: string;
  /** `dvchost` (standard profile): this instance's host name, ≤ 100 bytes. */
  dvchost?: string;
  /**
   * A space after the last header pipe. bookworm's liblognorm 2.0.6 drops the first character of
   * the first key without it (rsyslog/liblognorm#363, syslog.md §0.4, §6). Off: Vectra sends none.
   */
  spaceBeforeExtension?: boolean;
}

/** Byte limits of the escaped values (syslog.md §1.1 header table, §1.4 key table). */
export const CEF_LIMITS = {
  vendor: 63,
  product: 63,
  version: 31,
  signatureId: 1023,
  name: 512,
  externalId: 40,
  act: 63,
  outcome: 63,
  dvchost: 100,
  string: 1023,
  custom: 4000,
} as const;

/**
 * A CEF header field (syslog.md §1.2): `\` → `\\`, `|` → `\|`, CR/LF/CRLF → one space, other
 * unsafe code points (text.ts) → U+FFFD; cut to `maxBytes` of escaped UTF-8 without splitting an
 * escape.
 */
export function escapeCefHeader(value: string, maxBytes: number = CEF_LIMITS.string): string {
  return escapeWithin(
    foldLineBreaks(value),
    (ch, cp) => (ch === '\\' ? '\\\\' : ch === '|' ? '\\|' : isUnsafeCodePoint(cp) ? REPLACEMENT : ch),
    maxBytes,
  );
}

/**
 * A CEF extension value (syslog.md §1.2): `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n` (CRLF stays
 * `\r\n`), `|` as is, other unsafe code points → U+FFFD. Leading and trailing spaces and tabs are
 * trimmed (trailing ones after the cut), since parsers disagree on the blanks before the next key.
 * Cut to `maxBytes` of escaped UTF-8 on a code-point boundary, never inside an escape.
 */
export function escapeCefValue(value: string, maxBytes: number = CEF_LIMITS.string): string {
  return trimBlanksEnd(escapeWithin(trimBlanksStart(value), escapeExtensionChar, maxBytes));
}

function escapeExtensionChar(ch: string, cp: number): string {
  switch (ch) {
    case '\\':
      return '\\\\';
    case '=':
      return '\\=';
    case '\r':
      return '\\r';
    case '\n':
      return '\\n';
    default:
      return isUnsafeCodePoint(cp) ? REPLACEMENT : ch;
  }
}

/** [key, value, byte limit]; a `null` value leaves the key out. Keys are fixed alphanumeric words. */
type Pair = readonly [key: string, value: string | null, limit?: number];

function vectraPairs(e: NotificationEvent, o: CefOptions): Pair[] {
  const l = e.lockdown;
  return [
    // Vectra's externalId is its host id (syslog.md §2); ours is the 40-hex MDE machine id.
    ['externalId', e.host?.machineId ?? '', CEF_LIMITS.externalId],
    ['cat', eventCategory(e)],
    ['dvc', o.dvc ?? ''],
    ['suser', actorLabel(e)],
    ['host', e.host?.name ?? ''],
    ['cs1Label', 'action'],
    ['cs1', eventAction(e), CEF_LIMITS.custom],
    ['cs2Label', 'success'],
    ['cs2', pyBool(isSuccess(e))],
    ['cs3Label', 'willRetry'],
    ['cs3', pyBool(willRetry(e))],
    ['cs4Label', 'Vectra Event URL'],
    ['cs4', e.url ?? '', CEF_LIMITS.custom],
    // An empty timestamp would fail date parsing downstream: left out instead.
    ['start', epochMs(l?.lockedAt)],
    ['end', epochMs(l?.expiresAt)],
    // Ours, after Vectra's keys: event time, who exactly, a de-duplication id, what happened.
    ['rt', epochMs(e.at)],
    ['suid', e.actor],
    ['cs5Label', 'eventId'],
    ['cs5', e.id, CEF_LIMITS.custom],
    ['cs6Label', 'event'],
    ['cs6', e.name, CEF_LIMITS.custom],
    ['reason', l?.reason ?? null],
    ['msg', e.detail ?? null],
    // the ticket and its link (issue #18, item 5): cs1–cs6 are taken; flexString1/2 are the
    // dictionary's next free-text slots
    ...ticketPairs(l?.ticket, l?.ticketUrl),
  ];
}

function ticketPairs(ticket: string | undefined, url: string | undefined): Pair[] {
  const pairs: Pair[] = [];
  if (ticket) {
    pairs.push(['flexString1Label', 'ticket'], ['flexString1', ticket]);
    if (url) {
      pairs.push(['flexString2Label', 'ticketUrl'], ['flexString2', url]);
    }
  }
  return pairs;
}

function standardPairs(e: NotificationEvent, o: CefOptions): Pair[] {
  const l = e.lockdown;
  const ips = hostIps(e);
  const custom = (slot: string, label: string, value: string | null | undefined): Pair[] =>
    value == null
      ? []
      : [
          [`${slot}Label`, label],
          [slot, value, CEF_LIMITS.custom],
        ];
  return [
    ['rt', epochMs(e.at)],
    ['externalId', e.id, CEF_LIMITS.externalId],
    ['cat', eventCategory(e)],
    ['act', eventAction(e), CEF_LIMITS.act],
    ['outcome', isSuccess(e) ? 'success' : 'failure', CEF_LIMITS.outcome],
    ['suser', e.actor === null && e.actorName === undefined ? null : actorLabel(e)],
    ['suid', e.actor],
    ['dhost', e.host?.name ?? null],
    // CEF:0 address fields are IPv4 only; IPv6 goes to c6a3 (syslog.md §1.1, §1.4).
    ['dst', ips.v4[0] ?? null],
    ['c6a3', ips.v6[0] ?? null],
    ...custom('cs6', 'mdeMachineId', e.host?.machineId),
    ['dvc', o.dvc ?? null],
    ['dvchost', o.dvchost ?? null, CEF_LIMITS.dvchost],
    ['start', epochMs(l?.lockedAt)],
    ['end', epochMs(l?.expiresAt)],
    ...(l ? custom('cn1', 'durationMinutes', String(l.durationMinutes)) : []),
    ...custom('cs1', 'lockdownId', l?.id),
    ...custom('cs2', 'lockdownState', l?.state),
    ...custom('cs3', 'releaseReason', l?.releaseReason),
    ...custom('cs4', 'ticket', l?.ticket),
    ['reason', l?.reason ?? null],
    ['msg', e.detail ?? null],
    ['request', e.url ?? null],
  ];
}

/**
 * One CEF:0 line (no syslog header; wrap it with `rfc3164Line` and a TAG, or `rfc5424Line`,
 * syslog.md §1.5): `CEF:0|Vendor|Product|Version|SignatureId|Name|Severity|key=value …`.
 * Header escaping and limits per syslog.md §1.1–§1.2; Signature ID is `host lockdown` and Name
 * `Host Lockdown` in the `vectra-compat` profile (Vectra's header), else the event name and a
 * title. Extension values per {@link escapeCefValue} and the limits of §1.4 (1023 bytes unless
 * the table says otherwise); timestamps in epoch milliseconds (§1.3).
 */
export function formatCef(e: NotificationEvent, o: CefOptions): string {
  const compat = (o.profile ?? 'vectra-compat') === 'vectra-compat';
  const header = [
    'CEF:0',
    escapeCefHeader(o.vendor ?? 'hostlock', CEF_LIMITS.vendor),
    escapeCefHeader(o.product ?? 'hostlock', CEF_LIMITS.product),
    escapeCefHeader(o.version, CEF_LIMITS.version),
    compat ? 'host lockdown' : e.name,
    compat ? 'Host Lockdown' : eventTitle(e),
    String(cefSeverity(e)),
  ].join('|');
  const pairs = compat ? vectraPairs(e, o) : standardPairs(e, o);
  const extension = pairs
    .filter((p): p is readonly [string, string, number?] => p[1] !== null)
    .map(([key, value, limit]) => `${key}=${escapeCefValue(value, limit ?? CEF_LIMITS.string)}`)
    .join(' ');
  return `${header}|${o.spaceBeforeExtension ? ' ' : ''}${extension}`;
}

import type { NotificationEvent } from '../../core/events.js';
import {
  epochSeconds,
  eventAction,
  eventCategory,
  hostIps,
  isSuccess,
  rfc3339,
  willRetry,
} from './fields.js';
import { escapeWithin, REPLACEMENT } from './text.js';

export interface JsonOptions {
  /** `version`: hostlock's version (Vectra puts its own there). */
  version?: string;
  /** `headend_addr`: this instance's IP address; Elastic's pipeline converts it to an IP (syslog.md §2). */
  dvc?: string;
}

/** Cap on each string value, in escaped UTF-8 bytes (the same budget as CEF and SD values). */
export const JSON_VALUE_MAX_BYTES = 1023;

/**
 * `edr_type` for Microsoft Defender. Vectra 7.x sends e.g. `sentinelone` (syslog.md §2); what it
 * sends for Defender is UNCONFIRMED, so we name ours plainly.
 */
export const EDR_TYPE = 'mde';

function hex4(cp: number): string {
  return `\\u${cp.toString(16).padStart(4, '0')}`;
}

const SHORT: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function escapeJsonChar(ch: string, cp: number): string {
  const short = SHORT[ch];
  if (short !== undefined) {
    return short;
  }
  // NUL ends a C string: a receiver (rsyslog/liblognorm's json-c) would cut the field there, so
  // `good-host\0…` would pass for `good-host` (verified with rsyslog 8.2302). Lone surrogates:
  // UTF-8 cannot carry them.
  if (cp === 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
    return REPLACEMENT;
  }
  // JSON.stringify leaves DEL, C1 (NEL) and U+2028/9 raw; they are line breaks to some readers.
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) {
    return hex4(cp);
  }
  return ch;
}

/**
 * A JSON string literal, quotes included: everything a receiver could take as a line break or
 * control escaped as `\u` plus four hex digits (so it round-trips), NUL and lone surrogates → U+FFFD
 * (a C-string receiver would cut at NUL; UTF-8 cannot carry surrogates), cut to `maxBytes` of
 * escaped UTF-8 without splitting an escape.
 */
export function jsonString(value: string, maxBytes: number = JSON_VALUE_MAX_BYTES): string {
  return `"${escapeWithin(value, escapeJsonChar, maxBytes)}"`;
}

type JsonValue = string | number | boolean | null | string[];

function literal(v: JsonValue): string {
  if (v === null || typeof v === 'boolean') {
    return String(v);
  }
  if (typeof v === 'number') {
    return Number.isFinite(v) ? String(v) : 'null';
  }
  if (Array.isArray(v)) {
    return `[${v.map((s) => jsonString(s)).join(', ')}]`;
  }
  return jsonString(v);
}

/**
 * One JSON object on one line, Vectra's `vectra_json_host_lockdown` fields first in its order and
 * with its separators (`", "`, `": "`, syslog.md §2: `success`/`will_retry` booleans,
 * `vectra_timestamp` epoch seconds as a string, `category` `HOST_LOCKDOWN`), then ours. Absent
 * values are `null`. Send it after the `vectra_json_host_lockdown -:` TAG in compat mode.
 */
export function formatJson(e: NotificationEvent, o: JsonOptions = {}): string {
  const l = e.lockdown;
  const ips = hostIps(e);
  const fields: [string, JsonValue][] = [
    ['version', o.version ?? null],
    ['host_id', e.host?.machineId ?? null],
    ['user', e.actorName ?? e.actor],
    ['headend_addr', o.dvc ?? null],
    ['host_name', e.host?.name ?? null],
    ['href', e.url ?? null],
    ['action', eventAction(e)],
    ['success', isSuccess(e)],
    ['will_retry', willRetry(e)],
    ['category', eventCategory(e)],
    ['edr_type', EDR_TYPE],
    ['vectra_timestamp', epochSeconds(e.at)],
    ['event', e.name],
    ['event_id', e.id],
    ['outcome', e.outcome],
    ['actor_id', e.actor],
    ['host_ips', e.host ? [...ips.v4, ...ips.v6] : null],
    ['lockdown_id', l?.id ?? null],
    ['state', l?.state ?? null],
    ['duration_minutes', l?.durationMinutes ?? null],
    ['reason', l?.reason ?? null],
    ['detail', e.detail ?? null],
    ['locked_at', rfc3339(l?.lockedAt)],
    ['expires_at', rfc3339(l?.expiresAt)],
    ['release_reason', l?.releaseReason ?? null],
    ['ticket', l?.ticket ?? null],
    ['ticket_url', l?.ticketUrl ?? null],
    ['timestamp', rfc3339(e.at)],
  ];
  return `{${fields.map(([k, v]) => `"${k}": ${literal(v)}`).join(', ')}}`;
}

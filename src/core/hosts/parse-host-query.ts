import { ipVersion } from './ip.js';

/** What `/hostlock lookup <query>` (and lock/unlock) can name. */
export type HostQuery =
  | { kind: 'machine_id'; value: string }
  | { kind: 'ip'; value: string; version: 4 | 6 }
  | { kind: 'name'; value: string };

export const MAX_QUERY_LENGTH = 255;
const MACHINE_ID = /^[0-9a-f]{40}$/i;
// DNS labels plus `_` (NetBIOS-style names seen in Defender) and a trailing dot; a label may end
// in `-` because a prefix (`web-`) is a valid query.
const NAME = /^[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*\.?$/i;

export type QueryProblem = 'empty' | 'too_long' | 'control_characters' | 'not_a_host';

/**
 * Classifies a typed query: a 40-hex machine id, an IPv4/IPv6 address (brackets and zone ids
 * stripped), or a host name (FQDN or short, lower-cased). Anything else is a problem, not a guess.
 */
export function parseHostQuery(
  raw: string,
): { ok: true; query: HostQuery } | { ok: false; problem: QueryProblem } {
  // Slack sends mailto/URL autolinks for things that look like domains: `<http://web-01.corp|web-01.corp>`.
  const unlinked = raw.trim().replace(/^<(?:https?:\/\/|mailto:)?[^|>]*\|([^>]*)>$/i, '$1');
  const text = unlinked.trim();
  if (text === '') {
    return { ok: false, problem: 'empty' };
  }
  if (text.length > MAX_QUERY_LENGTH) {
    return { ok: false, problem: 'too_long' };
  }
  if ([...text].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f')) {
    return { ok: false, problem: 'control_characters' };
  }
  if (MACHINE_ID.test(text)) {
    return { ok: true, query: { kind: 'machine_id', value: text.toLowerCase() } };
  }
  const ip = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const version = ipVersion(ip);
  if (version === 4 || version === 6) {
    return { ok: true, query: { kind: 'ip', value: version === 6 ? ip.toLowerCase() : ip, version } };
  }
  if (NAME.test(text) && text.length <= 253) {
    return { ok: true, query: { kind: 'name', value: text.toLowerCase().replace(/\.$/, '') } };
  }
  return { ok: false, problem: 'not_a_host' };
}

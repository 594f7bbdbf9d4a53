import { type HostQuery, parseHostQuery } from './parse-host-query.js';
import type { Host } from './types.js';

// Hosts named in a message someone else wrote (issue #18, item 1): an alert another tool posted
// carries names, FQDNs, IPs and Defender machine ids in its text, attachments and blocks. The text is
// hostile by assumption: it is bounded, and only what the inventory knows is ever acted on.

/** Characters of message text looked at, at most. */
export const MESSAGE_TEXT_MAX = 20_000;
/** Distinct candidates looked up, at most; the rest are counted. */
export const CANDIDATES_MAX = 50;

/** Every string of a Slack message's text, attachments and blocks, depth- and size-bounded. */
export function messageText(message: unknown): string {
  const out: string[] = [];
  let size = 0;
  // what people see: text, pretext, titles, and the values of attachment fields; never button
  // values, ids or `fallback` (not shown where attachments render), which could name a host unseen
  const walk = (v: unknown, depth: number, inFields: boolean) => {
    if (size >= MESSAGE_TEXT_MAX || depth > 8) {
      return;
    }
    if (typeof v === 'string') {
      out.push(v);
      size += v.length + 1;
    } else if (Array.isArray(v)) {
      for (const x of v) {
        walk(x, depth + 1, inFields);
      }
    } else if (typeof v === 'object' && v !== null) {
      const isButton = (v as { type?: unknown }).type === 'button';
      for (const [k, x] of Object.entries(v)) {
        if (
          ['text', 'pretext', 'title', 'fields', 'attachments', 'blocks', 'elements'].includes(k) ||
          (k === 'value' && inFields && !isButton)
        ) {
          walk(x, depth + 1, inFields || k === 'fields');
        }
      }
    }
  };
  walk(message, 0, false);
  return out.join('\n').slice(0, MESSAGE_TEXT_MAX);
}

/**
 * Slack's markup read as people see it, in one pass: `<@U…>`, `<#C…>`, `<!here>` are no
 * candidates; a link with a label shows only the label (its URL's host, unseen, is no candidate);
 * a bare link shows its URL.
 */
function withoutMarkup(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const open = text.indexOf('<', at);
    const close = open < 0 ? -1 : text.indexOf('>', open);
    if (open < 0 || close < 0) {
      return out + text.slice(at);
    }
    const inside = text.slice(open + 1, close);
    const bar = inside.indexOf('|');
    const shown = /^[@#!]/.test(inside) ? '' : bar >= 0 ? inside.slice(bar + 1) : inside;
    out += `${text.slice(at, open)} ${shown} `;
    at = close + 1;
  }
}

/**
 * The host candidates in a text, in order of appearance, each once: machine ids, IPv4/IPv6
 * addresses, and names (a link's host too). Slack markup (`<@U…>`, `<!here>`, `<url|label>`) is
 * taken apart first, so a mention is never a candidate.
 */
export function hostCandidates(text: string): { queries: HostQuery[]; more: number } {
  // every pattern bounded: a 20 000-character message must not make a regex scan it again and again
  const words = withoutMarkup(text)
    .replace(/(?<![\w:]):[a-z][a-z0-9_+-]{0,60}:(?![\w:])/gi, ' ') // emoji shortcodes, not IPv6 groups
    .replace(/\b[a-z][a-z0-9+.-]{0,30}:\/\/([^/\s:?#]{1,255})[^\s]{0,2000}/gi, ' $1 ')
    // `_` is Slack's italic marker only at a word's edge: inside a word it is part of a NetBIOS-style
    // name (`WS_FIN_01`), which Defender lists and a lookup accepts
    .split(/[\s,;()[\]{}"'`*~|<>=]+/);
  const seen = new Set<string>();
  // host-like first (ids, addresses, names with a dot, digit or hyphen), plain words after: a long
  // alert's prose must not use up the candidates before its hosts
  const strong: HostQuery[] = [];
  const plain: HostQuery[] = [];
  for (const raw of words) {
    // trailing punctuation, and a port after an IPv4 address or a name (`10.0.0.5:443`, `web-01:22`)
    const w = raw.replace(/^[._:]+|[._:]+$/g, '').replace(/^([^:]+):\d{1,5}$/, '$1');
    if (!w) {
      continue;
    }
    // classified as a typed query is (parse-host-query.ts); a name must have a letter and 3 characters
    const parsed = parseHostQuery(w);
    const q =
      parsed.ok && (parsed.query.kind !== 'name' || (/[a-z]/i.test(w) && w.length >= 3))
        ? parsed.query
        : null;
    if (!q) {
      continue;
    }
    const key = `${q.kind}:${q.value}`;
    if (seen.has(key)) {
      continue;
    }
    seen.add(key);
    (isHostLike(q) ? strong : plain).push(q);
  }
  const all = [...strong, ...plain];
  return { queries: all.slice(0, CANDIDATES_MAX), more: Math.max(0, all.length - CANDIDATES_MAX) };
}

/** An id, an address, or a name with a dot, digit or hyphen: what an alert names a host by. */
export function isHostLike(q: HostQuery): boolean {
  return q.kind !== 'name' || /[.\d-]/.test(q.value);
}

/**
 * Whether a host is what a candidate named: its machine id or IP, or its name exactly or as the
 * short name of its FQDN (`web-01` for `web-01.contoso.com`), never a mere prefix (`web` is not
 * `web-01`): a word in an alert must not select every host it begins.
 */
export function namedBy(host: Host, q: HostQuery): boolean {
  if (q.kind === 'machine_id') {
    return host.machineId === q.value;
  }
  if (q.kind === 'ip') {
    return host.ips.includes(q.value);
  }
  const name = host.name.toLowerCase();
  return name === q.value || name.startsWith(`${q.value}.`);
}

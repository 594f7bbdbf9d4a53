import { ipVersion } from './ip.js';
import type { HostQuery } from './parse-host-query.js';
import type { Host } from './types.js';

// Hosts named in a message someone else wrote (issue #18, item 1): an alert another tool posted
// carries names, FQDNs, IPs and Defender machine ids in its text, attachments and blocks. The text is
// hostile by assumption: it is bounded, and only what the inventory knows is ever acted on.

/** Characters of message text looked at, at most. */
export const MESSAGE_TEXT_MAX = 20_000;
/** Distinct candidates looked up, at most; the rest are counted. */
export const CANDIDATES_MAX = 50;

const MACHINE_ID = /^[0-9a-f]{40}$/i;
/** A DNS name: labels of letters, digits and `-` (a short name too), at least one letter. */
const HOST_NAME = /^(?=.*[a-z])[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*$/i;

/** Every string of a Slack message's text, attachments and blocks, depth- and size-bounded. */
export function messageText(message: unknown): string {
  const out: string[] = [];
  let size = 0;
  const walk = (v: unknown, depth: number) => {
    if (size >= MESSAGE_TEXT_MAX || depth > 8) {
      return;
    }
    if (typeof v === 'string') {
      out.push(v);
      size += v.length + 1;
    } else if (Array.isArray(v)) {
      for (const x of v) {
        walk(x, depth + 1);
      }
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        // the words people read; not ids, colours, image URLs or the block kit's plumbing
        if (
          [
            'text',
            'fallback',
            'pretext',
            'title',
            'value',
            'fields',
            'attachments',
            'blocks',
            'elements',
          ].includes(k)
        ) {
          walk(x, depth + 1);
        }
      }
    }
  };
  walk(message, 0);
  return out.join('\n').slice(0, MESSAGE_TEXT_MAX);
}

/**
 * The host candidates in a text, in order of appearance, each once: machine ids, IPv4/IPv6
 * addresses, and names (a link's host too). Slack markup (`<@U…>`, `<!here>`, `<url|label>`) is
 * taken apart first, so a mention is never a candidate.
 */
export function hostCandidates(text: string): { queries: HostQuery[]; more: number } {
  const words = text
    .replace(/<[@#!][^>]*>/g, ' ')
    .replace(/:[a-z0-9_+-]+:/gi, ' ') // emoji shortcodes
    .replace(/<([^|>]+)(?:\|([^>]*))?>/g, ' $1 $2 ')
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/([^/\s:?#]+)\S*/gi, ' $1 ')
    .split(/[\s,;()[\]{}"'`*_~|<>]+/);
  const seen = new Set<string>();
  // host-like first (ids, addresses, names with a dot, digit or hyphen), plain words after: a long
  // alert's prose must not use up the candidates before its hosts
  const strong: HostQuery[] = [];
  const plain: HostQuery[] = [];
  for (const raw of words) {
    const w = raw.replace(/^[.:]+|[.:]+$/g, '');
    if (!w || w.length > 255) {
      continue;
    }
    let q: HostQuery | null = null;
    if (MACHINE_ID.test(w)) {
      q = { kind: 'machine_id', value: w.toLowerCase() };
    } else if (ipVersion(w) !== 0) {
      const version = ipVersion(w) as 4 | 6;
      q = { kind: 'ip', value: version === 6 ? w.toLowerCase() : w, version };
    } else if (HOST_NAME.test(w) && w.length >= 3) {
      q = { kind: 'name', value: w.toLowerCase() };
    }
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

import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import { formatCef } from '../../src/notify/syslog/cef.js';
import { frame, rfc3164Line, TAG } from '../../src/notify/syslog/framing.js';
import { formatJson } from '../../src/notify/syslog/json.js';
import { formatRfc5424 } from '../../src/notify/syslog/rfc5424.js';
import {
  parseCef,
  parseJsonLine,
  parseOctetFrames,
  parseRfc3164,
  parseRfc5424,
  sdParams,
} from '../helpers/syslog-parse.js';

/*
 * Every untrusted field gets hostile text; each output must be one line, parse strictly, and give
 * back the original value after the replacements and cuts syslog.md and the formatters document.
 * The expectations are written from the doc here, not imported from the formatters.
 */

// Single hostile code points (lone surrogates included), then multi-character traps.
const NASTY = [
  ...'|\\="][<>&\r\n\t\0 \u2028\u2029\u202e\u0085\u007f\u000b\ufeff-@é€😀',
  ...['\ud800', '\udfff', '\r\n', '  ', '\\n', '\\=', '\\"', '\\]', ' x=', 'cs1=', 'CEF:0|'],
];
const unit = fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
// size 'max': without it fast-check keeps strings short whatever maxLength says.
const text = (maxLength: number) =>
  fc.string({ unit, maxLength, size: 'max' }).map((s) => s.slice(0, maxLength));
// Up to 8 KB cheaply: a hostile piece repeated, so cuts land at every offset of its escapes.
const longText = fc
  .record({ piece: text(48), times: fc.integer({ min: 1, max: 400 }), tail: text(48) })
  .map(({ piece, times, tail }) => (piece.repeat(times) + tail).slice(0, 8_192));

const isUnsafe = (cp: number) =>
  (cp < 0x20 && cp !== 0x09) ||
  (cp >= 0x7f && cp <= 0x9f) ||
  cp === 0x2028 ||
  cp === 0x2029 ||
  (cp >= 0xd800 && cp <= 0xdfff);
const replaceUnsafe = (s: string, keep = '') => {
  let out = '';
  for (const ch of s) {
    out += keep.includes(ch) || !isUnsafe(ch.codePointAt(0) ?? 0) ? ch : '\uFFFD';
  }
  return out;
};
const fold = (s: string) => s.replace(/\r\n|\r|\n/g, ' ');
const trim = (s: string) => {
  let [i, j] = [0, s.length];
  while (s[i] === ' ' || s[i] === '\t') {
    i++;
  }
  while (j > i && (s[j - 1] === ' ' || s[j - 1] === '\t')) {
    j--;
  }
  return s.slice(i, j);
};
const utf8 = (cp: number) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
/** Escaped UTF-8 bytes: 2 for each `specials` character, 6 (`\uXXXX`) for `long` ones; stops past `stop`. */
const cost =
  (specials: string, long = '') =>
  (s: string, stop = Number.POSITIVE_INFINITY) => {
    let n = 0;
    for (const ch of s) {
      n += specials.includes(ch) ? 2 : long.includes(ch) ? 6 : utf8(ch.codePointAt(0) ?? 0);
      if (n > stop) {
        break;
      }
    }
    return n;
  };

/** What a field should read after formatting: its clean form, and the escaped-byte cost of a prefix. */
interface Rule {
  clean: (raw: string) => string;
  cost: (s: string, stop?: number) => number;
  trims?: boolean;
}

const CEF_VALUE: Rule = {
  clean: (raw) => replaceUnsafe(trim(raw), '\r\n'),
  cost: cost('\\=\r\n'),
  trims: true,
};
const CEF_HEADER: Rule = { clean: (raw) => replaceUnsafe(fold(raw)), cost: cost('\\|') };
const SD_VALUE: Rule = { clean: (raw) => replaceUnsafe(fold(raw)), cost: cost('\\"]') };
const JSON_CONTROL = [
  ...Array(0x20).keys(),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
  0x2028,
  0x2029,
]
  .map((cp) => String.fromCodePoint(cp))
  .filter((ch) => !'\b\f\n\r\t'.includes(ch))
  .join('');
const JSON_VALUE: Rule = {
  // NUL and lone surrogates become U+FFFD (json.ts: a C-string receiver would cut at NUL)
  clean: (raw) =>
    raw.replace(/\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\uFFFD'),
  cost: cost('"\\\b\f\n\r\t', JSON_CONTROL),
};

/**
 * `parsed` must equal the clean value when it fits `limit`; otherwise be its longest prefix that
 * fits (cut on a code point, minus trailing blanks for trimmed CEF values).
 */
function expectField(parsed: unknown, raw: string, rule: Rule, limit: number, what: string) {
  const clean = rule.clean(raw);
  if (rule.cost(clean, limit) <= limit) {
    expect(parsed, what).toBe(clean);
    return;
  }
  expect(typeof parsed, what).toBe('string');
  const value = String(parsed);
  expect(clean.startsWith(value), `${what} is a prefix`).toBe(true);
  expect(rule.cost(value), `${what} fits`).toBeLessThanOrEqual(limit);
  let next = value.length;
  while (rule.trims && (clean[next] === ' ' || clean[next] === '\t')) {
    next++;
  }
  const cp = clean.codePointAt(next) ?? 0;
  const longer = clean.slice(0, next + (cp > 0xffff ? 2 : 1));
  expect(rule.cost(longer), `${what} is the longest prefix that fits`).toBeGreaterThan(limit);
}

const fields = (t: fc.Arbitrary<string>) =>
  fc.record({ hostName: t, machineId: t, actor: t, actorName: t, reason: t, detail: t, url: t });
type Fields = {
  hostName: string;
  machineId: string;
  actor: string;
  actorName: string;
  reason: string;
  detail: string;
  url: string;
};

const AT = new Date(1591212505805);
const ipsOf = (f: Fields) => {
  const v4 = [f.hostName, '10.0.0.5'].filter((ip) => isIP(ip) === 4);
  const v6 = [f.hostName, '10.0.0.5'].filter((ip) => isIP(ip) === 6);
  return { v4, v6, all: [...v4, ...v6] };
};

function event(f: Fields): NotificationEvent {
  return {
    id: 'evt_0123456789abcdef',
    name: 'lockdown.failed',
    at: AT,
    host: { name: f.hostName, machineId: f.machineId, ips: [f.hostName, '10.0.0.5'] },
    actor: f.actor,
    actorName: f.actorName,
    lockdown: {
      id: 'lck_1',
      state: 'releasing',
      durationMinutes: 60,
      reason: f.reason,
      lockedAt: AT,
      expiresAt: null,
      releaseReason: null,
    },
    outcome: 'failed',
    detail: f.detail,
    url: f.url,
  };
}

// 4 × 2 500 runs of short strings (every field random in each) plus 4 × 100 at up to 8 KB per field.
const SHORT = { numRuns: 2_500 };
const LONG = { numRuns: 100 };
const cases = [
  ['short strings', fields(text(24)), SHORT],
  ['strings up to 8 KB', fields(longText), LONG],
] as const;

describe.each(cases)('syslog formatters on hostile %s', (_, arb, runs) => {
  it('CEF (vectra-compat over RFC 3164): one line, 7 header fields, every value round-trips', () => {
    const header = fc.record({ vendor: text(80), product: text(80), version: text(40), hostname: text(40) });
    fc.assert(
      fc.property(arb, header, (f, h) => {
        const cef = formatCef(event(f), { vendor: h.vendor, product: h.product, version: h.version });
        const line = rfc3164Line({
          facility: 'local0',
          severity: 4,
          at: AT,
          hostname: h.hostname,
          tag: TAG.vectraCef,
          msg: cef,
        });
        const outer = parseRfc3164(line);
        expect(outer.msg).toBe(cef);
        const p = parseCef(outer.msg);
        expectField(p.vendor, h.vendor, CEF_HEADER, 63, 'vendor');
        expectField(p.product, h.product, CEF_HEADER, 63, 'product');
        expectField(p.deviceVersion, h.version, CEF_HEADER, 31, 'version');
        expect([p.signatureId, p.name, p.severity]).toEqual(['host lockdown', 'Host Lockdown', '7']);
        expect(p.keys.slice(0, 5)).toEqual(['externalId', 'cat', 'dvc', 'suser', 'host']);
        expectField(p.ext.externalId, f.machineId, CEF_VALUE, 40, 'externalId');
        expectField(p.ext.suser, f.actorName, CEF_VALUE, 1023, 'suser');
        expectField(p.ext.host, f.hostName, CEF_VALUE, 1023, 'host');
        expectField(p.ext.cs4, f.url, CEF_VALUE, 4000, 'cs4');
        expectField(p.ext.suid, f.actor, CEF_VALUE, 1023, 'suid');
        expectField(p.ext.reason, f.reason, CEF_VALUE, 1023, 'reason');
        expectField(p.ext.msg, f.detail, CEF_VALUE, 1023, 'msg');
        expect([p.ext.cs1, p.ext.cs2, p.ext.cs3]).toEqual(['unlock', 'False', 'True']);
      }),
      runs,
    );
  });

  it('CEF (standard profile): dictionary keys round-trip', () => {
    fc.assert(
      fc.property(arb, (f) => {
        const p = parseCef(formatCef(event(f), { version: '1', profile: 'standard', dvchost: f.hostName }));
        expectField(p.ext.dhost, f.hostName, CEF_VALUE, 1023, 'dhost');
        expectField(p.ext.dvchost, f.hostName, CEF_VALUE, 100, 'dvchost');
        expectField(p.ext.cs6, f.machineId, CEF_VALUE, 4000, 'cs6');
        expectField(p.ext.request, f.url, CEF_VALUE, 1023, 'request');
        expectField(p.ext.reason, f.reason, CEF_VALUE, 1023, 'reason');
        expect(p.ext.dst).toBe(ipsOf(f).v4[0]);
      }),
      runs,
    );
  });

  it('RFC 5424: header tokens printable, SD well-formed, every param round-trips', () => {
    const header = fc.record({ hostname: text(300), appName: text(60), procId: text(140) });
    const token = (raw: string, max: number) =>
      [...raw]
        .map((ch) => (/^[\x21-\x7e]$/.test(ch) ? ch : '_'))
        .join('')
        .slice(0, max) || '-';
    fc.assert(
      fc.property(arb, header, (f, h) => {
        const line = formatRfc5424(event(f), { ...h, pen: 32473 });
        const p = parseRfc5424(line);
        expect([p.hostname, p.appName, p.procId, p.msgId]).toEqual([
          token(h.hostname, 255),
          token(h.appName, 48),
          token(h.procId, 128),
          'LOCKDOWN',
        ]);
        expect([p.facility, p.severity, p.msg]).toEqual([16, 3, null]);
        const sd = sdParams(p, 'host_lockdown@32473');
        expectField(sd.hostName, f.hostName, SD_VALUE, 1023, 'hostName');
        expectField(sd.user, f.actorName, SD_VALUE, 1023, 'user');
        expectField(sd.URL, f.url, SD_VALUE, 1023, 'URL');
        expectField(sd.actorId, f.actor, SD_VALUE, 1023, 'actorId');
        expectField(sd.machineId, f.machineId, SD_VALUE, 1023, 'machineId');
        expectField(sd.reason, f.reason, SD_VALUE, 1023, 'reason');
        expectField(sd.detail, f.detail, SD_VALUE, 1023, 'detail');
        expect(sd.hostIps).toBe(ipsOf(f).all.join(','));
      }),
      runs,
    );
  });

  it('JSON: one line, every value round-trips, octet framing counts bytes', () => {
    fc.assert(
      fc.property(arb, (f) => {
        const line = formatJson(event(f), { version: f.detail, dvc: f.url });
        expect(parseOctetFrames(frame(line, 'octet'))).toEqual([line]);
        const j = parseJsonLine(line);
        expectField(j.host_name, f.hostName, JSON_VALUE, 1023, 'host_name');
        expectField(j.host_id, f.machineId, JSON_VALUE, 1023, 'host_id');
        expectField(j.user, f.actorName, JSON_VALUE, 1023, 'user');
        expectField(j.actor_id, f.actor, JSON_VALUE, 1023, 'actor_id');
        expectField(j.reason, f.reason, JSON_VALUE, 1023, 'reason');
        expectField(j.detail, f.detail, JSON_VALUE, 1023, 'detail');
        expectField(j.version, f.detail, JSON_VALUE, 1023, 'version');
        expectField(j.href, f.url, JSON_VALUE, 1023, 'href');
        expectField(j.headend_addr, f.url, JSON_VALUE, 1023, 'headend_addr');
        expect(j.host_ips).toEqual(ipsOf(f).all);
      }),
      runs,
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { EventName, NotificationEvent, NotificationLockdown } from '../../src/core/events.js';
import { escapeCefHeader, escapeCefValue, formatCef } from '../../src/notify/syslog/cef.js';
import {
  cefSeverity,
  eventSeverity,
  frame,
  rfc3164Line,
  rfc5424Line,
  TAG,
} from '../../src/notify/syslog/framing.js';
import { formatJson } from '../../src/notify/syslog/json.js';
import { escapeSdValue, formatRfc5424, sdId } from '../../src/notify/syslog/rfc5424.js';
import {
  parseCef,
  parseJsonLine,
  parseOctetFrames,
  parseRfc3164,
  parseRfc5424,
  sdParams,
} from '../helpers/syslog-parse.js';

// Vectra's sample instant (syslog.md §2: start=1591212505805, UTCTime="1591212505.8").
const AT = new Date(1591212505805);
const MACHINE = 'a'.repeat(40);

const LOCKDOWN: NotificationLockdown = {
  id: 'lck_1',
  state: 'active',
  durationMinutes: 240,
  reason: 'beacon',
  lockedAt: AT,
  expiresAt: new Date(AT.getTime() + 4 * 3600_000),
  releaseReason: null,
};

function event(over: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    id: 'evt_0123456789abcdef',
    name: 'lockdown.locked',
    at: AT,
    host: { name: 'def-3', machineId: MACHINE, ips: ['10.0.0.5'] },
    actor: 'slack:U0123',
    actorName: 'vadmin',
    lockdown: LOCKDOWN,
    outcome: 'ok',
    ...over,
  };
}

const withHostName = (name: string) => event({ host: { name, machineId: MACHINE } });

describe('CEF escaping (syslog.md §1.2 test vectors, input raw)', () => {
  it.each([
    ['Acme|Corp', 'Acme\\|Corp', 'Acme|Corp'],
    ['C:\\temp\\x', 'C:\\\\temp\\\\x', 'C:\\\\temp\\\\x'],
    ['a=b', 'a=b', 'a\\=b'],
    ['line1\nline2', 'line1 line2', 'line1\\nline2'],
    ['CR\r\nLF', 'CR LF', 'CR\\r\\nLF'],
    ['literal \\n', 'literal \\\\n', 'literal \\\\n'],
  ])('%j → header %j, extension %j', (input, header, extension) => {
    expect(escapeCefHeader(input)).toBe(header);
    expect(escapeCefValue(input)).toBe(extension);
  });

  it.each(['Acme|Corp', 'C:\\temp\\x', 'a=b', 'line1\nline2', 'CR\r\nLF', 'literal \\n'])(
    'round-trips %j as a host name through a strict parser',
    (name) => {
      expect(parseCef(formatCef(withHostName(name), { version: '1' })).ext.host).toBe(name);
    },
  );

  it('keeps an injection attempt inside one value: parsers see one key', () => {
    const line = formatCef(withHostName('x suser=evil'), { version: '1' });
    expect(line).toContain('host=x suser\\=evil ');
    const cef = parseCef(line);
    expect(cef.ext.host).toBe('x suser=evil');
    expect(cef.ext.suser).toBe('vadmin');
    expect(cef.keys.filter((k) => k === 'suser')).toHaveLength(1);
  });

  it('escapes header pipes so the header keeps seven fields', () => {
    const line = formatCef(event(), { version: '1|2', vendor: 'Acme|Corp', product: 'Host \\ Lockdown' });
    expect(line.startsWith('CEF:0|Acme\\|Corp|Host \\\\ Lockdown|1\\|2|host lockdown|')).toBe(true);
    const cef = parseCef(line);
    expect([cef.vendor, cef.product, cef.deviceVersion, cef.severity]).toEqual([
      'Acme|Corp',
      'Host \\ Lockdown',
      '1|2',
      '3',
    ]);
  });

  it('replaces NUL, NEL, U+2028 with U+FFFD and keeps the line one line', () => {
    const line = formatCef(withHostName('a\0b\u0085c\u2028d'), { version: '1' });
    expect(parseCef(line).ext.host).toBe('a\uFFFDb\uFFFDc\uFFFDd');
  });

  it('trims blanks around extension values, which parsers treat differently', () => {
    expect(escapeCefValue('  padded\t ')).toBe('padded');
    expect(parseCef(formatCef(withHostName(' x '), { version: '1' })).ext.host).toBe('x');
  });

  it('stays linear on a long run of blanks (no backtracking trim)', () => {
    expect(escapeCefValue(`x${' '.repeat(200_000)}y`)).toBe('x');
    expect(escapeCefValue(`${' '.repeat(200_000)}y`)).toBe('y');
  });

  it('cuts at the byte limit without splitting an escape or a code point (§1.2)', () => {
    expect(escapeCefValue(`${'a'.repeat(1022)}\\`)).toBe('a'.repeat(1022));
    expect(escapeCefValue(`${'a'.repeat(1021)}€`)).toBe('a'.repeat(1021));
    expect(escapeCefValue(`${'a'.repeat(1020)}€`)).toBe(`${'a'.repeat(1020)}€`);
    expect(escapeCefHeader('x|'.repeat(40), 63)).toBe('x\\|'.repeat(21));
    const cef = parseCef(
      formatCef(event({ id: `evt_${'z'.repeat(60)}` }), { version: '1', profile: 'standard' }),
    );
    expect(cef.ext.externalId).toBe(`evt_${'z'.repeat(36)}`);
  });
});

describe('CEF vectra-compat profile (syslog.md §2)', () => {
  const vectra = { vendor: 'Vectra Networks', product: 'X Series', version: '5.8' };

  it('matches the sample header and keys byte for byte, then adds ours', () => {
    const line = formatCef(event({ url: 'https://x/detections/110076?detail_id=25428794' }), vectra);
    expect(line).toBe(
      `CEF:0|Vectra Networks|X Series|5.8|host lockdown|Host Lockdown|3|externalId=${MACHINE} cat=HOST_LOCKDOWN ` +
        'dvc= suser=vadmin host=def-3 cs1Label=action cs1=lock cs2Label=success cs2=True cs3Label=willRetry ' +
        'cs3=False cs4Label=Vectra Event URL cs4=https://x/detections/110076?detail_id\\=25428794 ' +
        'start=1591212505805 end=1591226905805 rt=1591212505805 suid=slack:U0123 cs5Label=eventId ' +
        'cs5=evt_0123456789abcdef cs6Label=event cs6=lockdown.locked reason=beacon',
    );
  });

  it('uses our own vendor and product unless the operator opts in', () => {
    expect(formatCef(event(), { version: '0.1.0' })).toMatch(/^CEF:0\|hostlock\|hostlock\|0\.1\.0\|/);
  });

  it.each<[string, Partial<NotificationEvent>, string, string, string]>([
    ['a release', { name: 'lockdown.released' }, 'unlock', 'True', 'False'],
    [
      'a failing isolation still retried',
      {
        name: 'lockdown.failed',
        outcome: 'failed',
        lockdown: { ...LOCKDOWN, state: 'isolating', lockedAt: null },
      },
      'lock',
      'False',
      'True',
    ],
    [
      'a release that failed for good',
      { name: 'lockdown.failed', outcome: 'failed', lockdown: { ...LOCKDOWN, state: 'failed' } },
      'unlock',
      'False',
      'False',
    ],
  ])('maps %s to cs1/cs2/cs3', (_, over, action, success, retry) => {
    const { ext } = parseCef(formatCef(event(over), vectra));
    expect([ext.cs1, ext.cs2, ext.cs3]).toEqual([action, success, retry]);
  });

  it('puts a space after the last pipe on request (liblognorm#363 workaround)', () => {
    expect(formatCef(event(), { ...vectra, spaceBeforeExtension: true })).toContain('|3| externalId=');
  });

  it('uses dictionary keys in the standard profile (§1.4)', () => {
    const e = event({ host: { name: 'def-3', machineId: MACHINE, ips: ['junk', 'fe80::1', '10.0.0.5'] } });
    const { ext, signatureId, name } = parseCef(
      formatCef(e, { version: '1', profile: 'standard', dvchost: 'bot' }),
    );
    expect([signatureId, name]).toEqual(['lockdown.locked', 'Host locked down']);
    expect(ext).toMatchObject({
      externalId: 'evt_0123456789abcdef',
      act: 'lock',
      outcome: 'success',
      dhost: 'def-3',
      dst: '10.0.0.5',
      c6a3: 'fe80::1',
      cs6Label: 'mdeMachineId',
      cs6: MACHINE,
      cn1: '240',
      dvchost: 'bot',
    });
  });
});

describe('RFC 5424 (syslog.md §3)', () => {
  const opts = { hostname: 'bot-host', pen: 41261, procId: '1234' };

  it('emits the Vectra SD with MSGID LOCKDOWN, our params after, and no MSG', () => {
    const line = formatRfc5424(event(), opts);
    expect(line).toMatch(
      /^<133>1 2020-06-03T19:28:25\.805Z bot-host hostlock 1234 LOCKDOWN \[host_lockdown@41261 category="HOST_LOCKDOWN" hostName="def-3" action="lock" success="True" willRetry="False" dvc="" user="vadmin" URL="" UTCTime="1591212505\.8" event="lockdown\.locked" /,
    );
    expect(line.endsWith('expiresAt="2020-06-03T23:28:25.805Z"]')).toBe(true);
    const p = parseRfc5424(line);
    expect(p.msg).toBeNull();
    expect(sdParams(p, 'host_lockdown@41261')).toMatchObject({ reason: 'beacon', durationMinutes: '240' });
  });

  it('escapes the doc vector a"b]c\\d as hostName="a\\"b\\]c\\\\d"', () => {
    const line = formatRfc5424(withHostName('a"b]c\\d'), opts);
    expect(line).toContain('hostName="a\\"b\\]c\\\\d"');
    expect(sdParams(parseRfc5424(line), 'host_lockdown@41261').hostName).toBe('a"b]c\\d');
    expect(escapeSdValue('one\r\ntwo\nthree\0')).toBe('one two three\uFFFD');
  });

  it('uses NILVALUE for absent fields and printable ASCII in header fields', () => {
    const line = rfc5424Line({
      facility: 'local0',
      severity: 6,
      at: AT,
      hostname: '',
      appName: 'my app\u00e9',
    });
    expect(line).toBe('<134>1 2020-06-03T19:28:25.805Z - my_app_ - - -');
    const long = rfc5424Line({
      facility: 'local0',
      severity: 6,
      at: new Date(Number.NaN),
      hostname: 'h'.repeat(300),
      appName: 'a'.repeat(60),
      procId: 'p'.repeat(200),
      msgId: 'm'.repeat(40),
    });
    expect(long).toBe(`<134>1 - ${'h'.repeat(255)} ${'a'.repeat(48)} ${'p'.repeat(128)} ${'m'.repeat(32)} -`);
  });

  it('carries CEF as MSG, with a BOM only on request (§1.5, §3.3)', () => {
    const cef = formatCef(event(), { version: '1' });
    const base = {
      facility: 'local0',
      severity: 6,
      at: AT,
      hostname: 'bot-host',
      appName: 'lockbot',
    } as const;
    const line = rfc5424Line({ ...base, procId: '1234', msgId: 'HOST_LOCKDOWN', msg: cef });
    expect(line).toBe(`<134>1 2020-06-03T19:28:25.805Z bot-host lockbot 1234 HOST_LOCKDOWN - ${cef}`);
    const bom = Buffer.from(rfc5424Line({ ...base, msg: 'x', bom: true }));
    expect(bom.subarray(-4)).toEqual(Buffer.from([0xef, 0xbb, 0xbf, 0x78]));
    expect(parseRfc5424(bom.toString()).bom).toBe(true);
  });

  it.each([
    ['host lockdown', 1],
    ['host_lockdown', -1],
    ['host_lockdown', 1.5],
    ['x@y', 1],
    ['n'.repeat(30), 32473],
  ])('refuses the SD-ID %s@%s', (name, pen) => {
    expect(() => sdId(name, pen)).toThrow(RangeError);
  });
});

describe('JSON (syslog.md §2)', () => {
  it('starts with the Vectra host-lockdown fields, in order and with their types', () => {
    const line = formatJson(event({ name: 'lockdown.released' }), { version: '0.1.0', dvc: '89.160.20.112' });
    expect(line.startsWith('{"version": "0.1.0", "host_id": "aaaa')).toBe(true);
    const j = parseJsonLine(line);
    expect(Object.keys(j).slice(0, 12)).toEqual(
      'version host_id user headend_addr host_name href action success will_retry category edr_type vectra_timestamp'.split(
        ' ',
      ),
    );
    expect(j).toMatchObject({
      action: 'unlock',
      success: true,
      will_retry: false,
      category: 'HOST_LOCKDOWN',
    });
    expect(j.vectra_timestamp).toBe('1591212505');
  });

  it('escapes U+2028, NEL and DEL that JSON.stringify leaves raw, and round-trips them', () => {
    const name = 'a\u2028b\u0085c\u007fd\ne"f';
    const line = formatJson(withHostName(name));
    expect(line).toContain('"host_name": "a\\u2028b\\u0085c\\u007fd\\ne\\"f"');
    expect(parseJsonLine(line).host_name).toBe(name);
  });
});

describe('framing (syslog.md §1.5, §4, §5)', () => {
  it('reproduces the real Vectra RFC 3164 framing with a TAG', () => {
    const line = rfc3164Line({
      facility: 'user',
      severity: 5,
      at: new Date(Date.UTC(2020, 7, 21, 9, 24, 0)),
      hostname: 'S180356X5A19242',
      tag: TAG.vectraCef,
      msg: 'CEF:0|Vectra Networks|X Series|5.8|hsc|Host Score Change|3|externalId=2765220',
    });
    expect(line).toBe(
      '<13>Aug 21 09:24:00 S180356X5A19242 vectra_cef -: CEF:0|Vectra Networks|X Series|5.8|hsc|Host Score Change|3|externalId=2765220',
    );
    expect(parseRfc3164(line).tag).toBe('vectra_cef -:');
  });

  it('space-pads a day below 10 and refuses a TAG receivers would misread', () => {
    const base = { facility: 'local0', severity: 6, at: AT, hostname: 'h', msg: 'm' } as const;
    expect(rfc3164Line({ ...base, tag: TAG.hostlock })).toBe('<134>Jun  3 19:28:25 h hostlock: m');
    expect(() => rfc3164Line({ ...base, tag: 'CEF' })).toThrow(RangeError);
    expect(() => rfc3164Line({ ...base, tag: 'two words:' })).toThrow(RangeError);
  });

  it('counts octets, not characters, and terminates LF frames', () => {
    expect(frame('héllo', 'octet').toString()).toBe('6 héllo');
    expect(frame('x', 'lf').toString()).toBe('x\n');
    const stream = Buffer.concat([frame('é 1', 'octet'), frame('two', 'octet')]);
    expect(parseOctetFrames(stream)).toEqual(['é 1', 'two']);
  });

  it.each<[EventName, NotificationEvent['outcome'], number, number]>([
    ['lockdown.requested', 'ok', 6, 1],
    ['lockdown.locked', 'ok', 5, 3],
    ['lockdown.failed', 'failed', 3, 7],
    ['lockdown.requested', 'failed', 4, 5],
    ['lockdown.approved', 'denied', 5, 3],
    ['host.released_externally', 'ok', 4, 5],
    ['auto.suppressed', 'ok', 4, 5],
    ['settings.changed', 'ok', 5, 3],
  ])('%s (%s) is syslog severity %i, CEF %i', (name, outcome, syslog, cef) => {
    expect(eventSeverity(event({ name, outcome }))).toBe(syslog);
    expect(cefSeverity(event({ name, outcome }))).toBe(cef);
  });
});

import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import { eventPayload, parseEventPayload, settingsChangedEvent } from '../../src/core/events.js';
import type { SyslogTarget } from '../../src/core/settings/settings.js';
import {
  formatSyslogTarget,
  parseSyslogTarget,
  refusedTarget,
} from '../../src/core/settings/syslog-targets.js';
import { parseSink, sinksOf, sinkTakes } from '../../src/core/sinks.js';
import { alertText } from '../../src/notify/slack-alert.js';
import { syslogLineFor } from '../../src/notify/syslog-sink.js';

const id = { hostname: 'hostlock-1', version: '0.1.0', procId: '7' };

const LOCKDOWN = {
  id: 'lck_1',
  state: 'active',
  durationMinutes: 240,
  reason: 'beaconing',
  expiresAt: new Date('2026-11-24T14:00:00.000Z'),
  lockedAt: new Date('2026-11-24T10:00:00.000Z'),
  releaseReason: null,
  source: 'manual',
};

function event(extra: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    id: 'evt_unit0001',
    name: 'lockdown.locked',
    at: new Date('2026-11-24T10:00:00.000Z'),
    host: { name: 'ws-01.contoso.com', machineId: 'm-1', ips: ['10.0.0.1'] },
    actor: 'slack:U0ALICE001',
    outcome: 'ok',
    lockdown: LOCKDOWN,
    ...extra,
  };
}

describe('syslog target lines', () => {
  it.each([
    [
      'tcp://siem.example.com:514 cef',
      { protocol: 'tcp', host: 'siem.example.com', port: 514, format: 'cef' },
    ],
    ['udp://[2001:db8::1]:514 json', { protocol: 'udp', host: '2001:db8::1', port: 514, format: 'json' }],
    [
      'tcp://10.0.0.5:1514 json framing=lf header=rfc5424',
      { protocol: 'tcp', host: '10.0.0.5', port: 1514, format: 'json', framing: 'lf', header: 'rfc5424' },
    ],
    [
      'tls://siem:6514 rfc5424 pen=41261',
      { protocol: 'tls', host: 'siem', port: 6514, format: 'rfc5424', pen: 41261 },
    ],
    [
      'tls://siem:6514 json framing=lf',
      { protocol: 'tls', host: 'siem', port: 6514, format: 'json', framing: 'lf' },
    ],
    [
      'tcp://siem:514 cef profile=full',
      { protocol: 'tcp', host: 'siem', port: 514, format: 'cef', profile: 'full' },
    ],
  ])('reads %s and writes it back the same', (line, target) => {
    expect(parseSyslogTarget(line)).toEqual(target);
    expect(formatSyslogTarget(target as never)).toBe(line);
  });

  it.each([
    ['syslog.example.com:514 cef', /should look like/],
    ['tcp://siem:70000 cef', /1-65535/],
    ['udp://siem:514 cef framing=lf', /tcp and tls/],
    ['tcp://siem:514 rfc5424 profile=full', /cef and json/],
    ['tcp://siem:514 cef profile=all', /not an option/],
    ['tcp://siem:514 rfc5424 header=rfc3164', /carry their own/],
    ['tcp://siem:514 cef pen=1', /applies to rfc5424/],
    ['tcp://siem:514 cef colour=red', /not an option/],
    ['tcp://-bad-:514 cef', /should look like/],
  ])('refuses %s, saying what to write', (line, why) => {
    expect(parseSyslogTarget(line)).toMatch(why);
  });

  it('takes profile=vectra as the default: the same sink as no profile', () => {
    expect(parseSyslogTarget('tcp://siem:514 json profile=vectra')).toEqual(
      parseSyslogTarget('tcp://siem:514 json'),
    );
  });

  it('refuses in the modal what receivers cannot read, saying what to write, yet keeps such a stored sink readable', () => {
    const stored = parseSyslogTarget('tcp://siem:514 json header=rfc5424');
    expect(typeof stored).toBe('object');
    expect(refusedTarget(stored as SyslogTarget)).toMatch(/write `tcp:\/\/siem:514 json`/);
    expect(refusedTarget(parseSyslogTarget('tcp://siem:514 cef header=rfc5424') as SyslogTarget)).toBeNull();
  });

  it('names one sink per alert channel and target, and reads each name back', () => {
    const sinks = sinksOf({
      alertChannels: ['C0ALERTS01'],
      syslogTargets: [{ protocol: 'tcp', host: 'siem', port: 514, format: 'cef', framing: 'lf' }],
    });
    expect(sinks).toEqual(['slack:C0ALERTS01', 'syslog:tcp://siem:514 cef framing=lf']);
    expect(sinks.map(parseSink)).toEqual([
      { kind: 'slack', channel: 'C0ALERTS01' },
      { kind: 'syslog', target: { protocol: 'tcp', host: 'siem', port: 514, format: 'cef', framing: 'lf' } },
    ]);
    expect(parseSink('smtp:x')).toBeNull();
  });
});

describe('events in the outbox', () => {
  it('round-trip through their JSON payload, dates included', () => {
    const e = event();
    expect(parseEventPayload(JSON.parse(JSON.stringify(eventPayload(e))))).toEqual(e);
  });
});

describe('syslog lines per target', () => {
  const tcp = (format: SyslogTarget['format'], o: Partial<SyslogTarget> = {}): SyslogTarget => ({
    protocol: 'tcp',
    host: 'x',
    port: 1,
    format,
    ...o,
  });
  const lineOf = (e: NotificationEvent, t: SyslogTarget) => syslogLineFor(e, t, id) ?? '';

  it('sends a lock as Vectra does: CEF Vectra Networks|X Series after vectra_cef, JSON after vectra_json_host_lockdown', () => {
    expect(lineOf(event(), tcp('cef'))).toMatch(
      /^<133>Nov 24 10:00:00 hostlock-1 vectra_cef -: CEF:0\|Vectra Networks\|X Series\|0\.1\.0\|host lockdown\|Host Lockdown\|3\|externalId=/,
    );
    expect(lineOf(event(), tcp('json'))).toMatch(
      /^<133>Nov 24 10:00:00 hostlock-1 vectra_json_host_lockdown -: \{"version": "0\.1\.0"/,
    );
    expect(lineOf(event(), tcp('cef', { header: 'rfc5424' }))).toMatch(
      /^<133>1 2026-11-24T10:00:00\.000Z hostlock-1 hostlock 7 LOCKDOWN - CEF:0\|Vectra Networks\|/,
    );
    expect(lineOf(event(), tcp('rfc5424', { pen: 41261 }))).toContain('[host_lockdown@41261 ');
  });

  it('sends only Vectra’s events (lock, unlock) under the default profile; the rest only with profile=full, never under a Vectra name', () => {
    for (const name of ['lockdown.locked', 'lockdown.released', 'lockdown.failed'] as const) {
      expect(syslogLineFor(event({ name }), tcp('cef'), id)).toContain(
        'vectra_cef -: CEF:0|Vectra Networks|X Series|',
      );
      expect(sinkTakes({ kind: 'syslog', target: tcp('json') }, { name })).toBe(true);
    }
    const own = [
      'lockdown.requested',
      'lockdown.approved',
      'lockdown.denied',
      'lockdown.extended',
      'auto.suppressed',
      'host.isolated_externally',
      'host.released_externally',
    ] as const;
    for (const name of own) {
      // an isolation or release by others alone: no hostlock lockdown of its own
      const e = name.startsWith('host.') ? event({ name, lockdown: undefined }) : event({ name });
      for (const format of ['cef', 'json'] as const) {
        expect(syslogLineFor(e, tcp(format), id), `${name} ${format}`).toBeNull();
        expect(sinkTakes({ kind: 'syslog', target: tcp(format) }, e)).toBe(false);
      }
      const cef = lineOf(e, tcp('cef', { profile: 'full' }));
      expect(cef).toMatch(/ hostlock_cef -: CEF:0\|hostlock\|hostlock\|/);
      expect(cef).not.toMatch(/Vectra|vectra_/);
      const json = lineOf(e, tcp('json', { profile: 'full' }));
      expect(json).toMatch(/ hostlock_json -: \{/);
      expect(json).not.toContain('vectra_json');
      expect(json).not.toContain('HOST_LOCKDOWN');
      // RFC 5424: hostlock's SD-ID and MSGID, never in Vectra's PEN namespace
      const sd = lineOf(e, tcp('rfc5424', { pen: 41261 }));
      expect(sd).toContain(' HOSTLOCK [hostlock@32473 ');
      expect(sd).not.toMatch(/41261|LOCKDOWN|HOST_LOCKDOWN/);
    }
    // the end of a hostlock lockdown someone released outside hostlock: Vectra's unlock, so a
    // SIEM never sees a lock without its unlock
    const outside = event({ name: 'host.released_externally' });
    expect(lineOf(outside, tcp('json'))).toMatch(/vectra_json_host_lockdown -: .*"action": "unlock"/);
    const settings = settingsChangedEvent(
      'evt_set00001',
      'slack:U0ADMIN001',
      'poll_minutes: 15 → 30',
      new Date(),
    );
    expect(syslogLineFor(settings, tcp('json'), id)).toBeNull();
    expect(lineOf(settings, tcp('json', { profile: 'full' }))).toMatch(
      / hostlock_json -: .*"category": "AUDIT"/,
    );
    // alert channels take everything
    expect(sinkTakes({ kind: 'slack', channel: 'C0ALERTS01' }, { name: 'settings.changed' })).toBe(true);
  });

  it('fits a person’s long name and a long link into one UDP datagram too (they are free text)', () => {
    const named = event({
      name: 'lockdown.released',
      actorName: '名'.repeat(200),
      url: `https://contoso.slack.com/archives/C0APPROVE1/p1764921600000100?${'x'.repeat(600)}`,
    });
    for (const format of ['cef', 'json'] as const) {
      const line = lineOf(named, { protocol: 'udp', host: 'x', port: 1, format });
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(1024);
      expect(line).toContain('evt_unit0001');
    }
  });

  it('cuts free text until the line fits one UDP datagram, keeping the ids', () => {
    const long = event({
      detail: 'd'.repeat(3_000),
      lockdown: { ...LOCKDOWN, reason: 'r'.repeat(3_000) },
      host: {
        name: 'h'.repeat(250),
        machineId: 'm-1',
        ips: Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`),
      },
    });
    for (const format of ['cef', 'json', 'rfc5424'] as const) {
      const line = lineOf(long, { protocol: 'udp', host: 'x', port: 1, format });
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(format === 'rfc5424' ? 2048 : 1024);
      expect(line).toContain('evt_unit0001');
      expect(Buffer.byteLength(lineOf(long, tcp(format)))).toBeGreaterThan(2048);
    }
  });
});

describe('alert channel text', () => {
  it('escapes every untrusted value and keeps one line per part', () => {
    const text = alertText(
      event({
        host: { name: 'evil`<!here>\nhost', machineId: 'm-<1>' },
        detail: 'MDE said <@U0ADMIN> & *bold*\r\nLine',
        lockdown: { ...LOCKDOWN, reason: '<https://x.test|login>\n*fake* line' },
      }),
    );
    expect(text).not.toMatch(/<!here>|<@U0ADMIN>|<https:/);
    expect(text).toContain("`evil'&lt;!here&gt; host`");
    expect(text).toContain('Reason: &lt;https://x.test|login&gt; *fake* line');
    expect(text).toContain('Note: MDE said &lt;@U0ADMIN&gt; &amp; *bold* Line');
    expect(text.split('\n')).toHaveLength(4);
  });
});

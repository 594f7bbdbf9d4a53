import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import { eventPayload, parseEventPayload } from '../../src/core/events.js';
import { formatSyslogTarget, parseSyslogTarget } from '../../src/core/settings/syslog-targets.js';
import { parseSink, sinksOf } from '../../src/core/sinks.js';
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
  ])('reads %s and writes it back the same', (line, target) => {
    expect(parseSyslogTarget(line)).toEqual(target);
    expect(formatSyslogTarget(target as never)).toBe(line);
  });

  it.each([
    ['syslog.example.com:514 cef', /should look like/],
    ['tcp://siem:70000 cef', /1-65535/],
    ['tls://siem:6514 cef framing=lf', /tcp only/],
    ['tcp://siem:514 rfc5424 header=rfc3164', /carry their own/],
    ['tcp://siem:514 cef pen=1', /applies to rfc5424/],
    ['tcp://siem:514 cef colour=red', /not an option/],
    ['tcp://-bad-:514 cef', /should look like/],
  ])('refuses %s, saying what to write', (line, why) => {
    expect(parseSyslogTarget(line)).toMatch(why);
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
  it('wraps CEF and JSON in an RFC 3164 header with Vectra’s TAG, or RFC 5424 on request', () => {
    const cef = syslogLineFor(event(), { protocol: 'tcp', host: 'x', port: 1, format: 'cef' }, id);
    expect(cef).toMatch(
      /^<133>Nov 24 10:00:00 hostlock-1 vectra_cef -: CEF:0\|hostlock\|hostlock\|0\.1\.0\|/,
    );
    const json = syslogLineFor(
      event(),
      { protocol: 'tcp', host: 'x', port: 1, format: 'json', header: 'rfc5424' },
      id,
    );
    expect(json).toMatch(
      /^<133>1 2026-11-24T10:00:00\.000Z hostlock-1 hostlock 7 LOCKDOWN - \{"version": "0\.1\.0"/,
    );
    const sd = syslogLineFor(
      event(),
      { protocol: 'tcp', host: 'x', port: 1, format: 'rfc5424', pen: 41261 },
      id,
    );
    expect(sd).toContain('[host_lockdown@41261 ');
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
      const line = syslogLineFor(long, { protocol: 'udp', host: 'x', port: 1, format }, id);
      expect(Buffer.byteLength(line)).toBeLessThanOrEqual(format === 'rfc5424' ? 2048 : 1024);
      expect(line).toContain('evt_unit0001');
      const tcp = syslogLineFor(long, { protocol: 'tcp', host: 'x', port: 1, format }, id);
      expect(Buffer.byteLength(tcp)).toBeGreaterThan(2048);
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import type { SyslogTarget } from '../../src/core/settings/settings.js';
import { parseSyslogTarget } from '../../src/core/settings/syslog-targets.js';
import { createSyslogTransport } from '../../src/notify/syslog/transport.js';
import { syslogLineFor } from '../../src/notify/syslog-sink.js';
import { type Sc4s, type Sc4sEvent, startSc4s, syslogNgAvailable } from '../fakes/sc4s.js';
import { lockEvent, settingsEvent, unlockEvent, VECTRA_JSON_SAMPLE_KEYS } from './vectra-samples.js';

// Splunk Connect for Syslog (test/fakes/sc4s.ts: its listeners and Vectra rules on a real
// syslog-ng) receives hostlock's lock and unlock with the target lines the README gives for SC4S,
// and files them as Vectra's: JSON as `vectra:cognito:hostlockdown:json` with the event time read
// from `vectra_timestamp`, CEF under `Vectra Networks|X Series`. Nothing hostlock-only is filed
// as Vectra's. (issue #19)

const ID = { hostname: 'hostlock-1', version: '0.1.0', dvc: '10.9.8.7' };
const available = syslogNgAvailable();
let sc4s: Sc4s;

beforeAll(async () => {
  if (available) {
    sc4s = await startSc4s();
  }
});
afterAll(() => sc4s?.dispose());

/** The README's SC4S target lines: newline framing on 514 and 6514, octet counting on 601 and 5425. */
const LISTENERS = [
  {
    name: '514/udp',
    line: (p: Sc4s['ports'], f: string) => `udp://127.0.0.1:${p.udp514} ${f}`,
    source: 's_514',
  },
  {
    name: '514/tcp',
    line: (p: Sc4s['ports'], f: string) => `tcp://127.0.0.1:${p.tcp514} ${f} framing=lf`,
    source: 's_514',
  },
  {
    name: '6514/tls',
    line: (p: Sc4s['ports'], f: string) => `tls://127.0.0.1:${p.tls6514} ${f} framing=lf`,
    source: 's_6514',
  },
  {
    name: '601/tcp',
    line: (p: Sc4s['ports'], f: string) => `tcp://127.0.0.1:${p.tcp601} ${f}`,
    source: 's_601',
  },
  {
    name: '5425/tls',
    line: (p: Sc4s['ports'], f: string) => `tls://127.0.0.1:${p.tls5425} ${f}`,
    source: 's_5425',
  },
] as const;

function target(line: string): SyslogTarget {
  const t = parseSyslogTarget(line);
  if (typeof t === 'string') {
    throw new Error(t);
  }
  return t;
}

/** Sends the events as the outbox does (one transport, in order); returns what SC4S filed for them. */
async function deliver(t: SyslogTarget, events: NotificationEvent[]): Promise<Sc4sEvent[]> {
  const transport = createSyslogTransport({ ...t, ca: sc4s.ca });
  const lines = events.map((e) => syslogLineFor(e, t, ID)).filter((l): l is string => l !== null);
  try {
    for (const line of lines) {
      await transport.send(line);
    }
  } finally {
    await transport.close();
  }
  const mine = (all: Sc4sEvent[]) =>
    all.filter((x) => events.some((e) => x.MESSAGE.includes(e.host?.machineId ?? e.id)));
  return mine(await sc4s.waitFor((all) => mine(all).length >= lines.length, `${lines.length} events`));
}

describe.skipIf(!available)('SC4S (syslog-ng) files hostlock’s lockdowns as Vectra’s', () => {
  describe.each(LISTENERS)('on $name', ({ line, source }) => {
    it('json: vectra:cognito:hostlockdown:json, the event time from vectra_timestamp, Vectra’s keys', async () => {
      const lock = lockEvent();
      const unlock = unlockEvent();
      const got = await deliver(target(line(sc4s.ports, 'json')), [lock, unlock]);
      expect(got).toHaveLength(2);
      for (const [i, e] of [lock, unlock].entries()) {
        const x = got[i] as Sc4sEvent;
        expect(x.SOURCE).toBe(source);
        expect(x.sourcetype).toBe('vectra:cognito:hostlockdown:json');
        expect(x.PROGRAM).toBe('vectra_json_host_lockdown');
        expect(x.HOST).toBe('hostlock-1');
        expect(x._tmp?.timestamp).toBe(String(Math.floor(e.at.getTime() / 1000)));
        const body = JSON.parse(x.MESSAGE) as Record<string, unknown>;
        expect(Object.keys(body).slice(0, VECTRA_JSON_SAMPLE_KEYS.length)).toEqual(VECTRA_JSON_SAMPLE_KEYS);
        expect(body).toMatchObject({
          host_id: e.host?.machineId,
          host_name: e.host?.name,
          user: e.actorName,
          action: i === 0 ? 'lock' : 'unlock',
          success: true,
          will_retry: false,
          category: 'HOST_LOCKDOWN',
          headend_addr: '10.9.8.7',
          href: e.url,
        });
      }
    });

    it('cef: Vectra Networks|X Series, host lockdown|Host Lockdown (SC4S: vectra:cognito:detect)', async () => {
      const got = await deliver(target(line(sc4s.ports, 'cef')), [lockEvent()]);
      expect(got[0]?.sourcetype).toBe('vectra:cognito:detect');
      expect(got[0]?.PROGRAM).toBe('vectra_cef');
      expect(got[0]?._metadata?.cef).toMatchObject({
        version: 'CEF:0',
        device_vendor: 'Vectra Networks',
        device_product: 'X Series',
        device_version: '0.1.0',
        device_event_class: 'host lockdown',
        name: 'Host Lockdown',
        severity: '3',
      });
    });
  });

  it('files nothing hostlock-only as Vectra’s, with profile=full', async () => {
    const p = sc4s.ports;
    const json = await deliver(target(`tcp://127.0.0.1:${p.tcp514} json framing=lf profile=full`), [
      settingsEvent(),
    ]);
    expect(json[0]?.PROGRAM).toBe('hostlock_json');
    expect(json[0]?.sourcetype).toBe('sc4s:fallback');
    const cef = await deliver(target(`tcp://127.0.0.1:${p.tcp601} cef profile=full`), [settingsEvent()]);
    expect(cef[0]?.sourcetype).toBe('cef');
    expect(cef[0]?._metadata?.cef?.device_vendor).toBe('hostlock');
  });

  it('why 514/tcp needs framing=lf: octet-counted frames there are not filed as Vectra’s', async () => {
    const t = target(`tcp://127.0.0.1:${sc4s.ports.tcp514} json`); // octet counting, the TCP default
    const transport = createSyslogTransport(t);
    const e = lockEvent();
    try {
      await transport.send(syslogLineFor(e, t, ID) ?? '');
      await transport.send(syslogLineFor(unlockEvent(), t, ID) ?? '');
    } finally {
      await transport.close();
    }
    const machine = e.host?.machineId ?? '¤';
    const got = await sc4s.waitFor(
      (all) => all.some((x) => x.MESSAGE.includes(machine)),
      'the octet-framed events',
    );
    const filed = got.filter(
      (x) => x.MESSAGE.includes(machine) && x.sourcetype === 'vectra:cognito:hostlockdown:json',
    );
    expect(
      filed.filter((x) => x.PROGRAM === 'vectra_json_host_lockdown' && x.MESSAGE.startsWith('{')),
    ).toHaveLength(0);
  });
});

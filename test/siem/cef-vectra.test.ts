import { describe, expect, it } from 'vitest';
import { syslogLineFor } from '../../src/notify/syslog-sink.js';
import { parseCef, parseRfc3164 } from '../helpers/syslog-parse.js';
import {
  lockEvent,
  settingsEvent,
  unlockEvent,
  VECTRA_CEF_HEADER,
  VECTRA_CEF_KEYS,
} from './vectra-samples.js';

// What the CEF content for Vectra keys on (issue #19), asserted on hostlock's lines:
// - Vectra's header and keys (its Defender ATP FAQ, via shared/reference/syslog.md §2);
// - Microsoft Sentinel (Azure/Azure-Sentinel, Solutions/Vectra AI Detect, AIVectraDetect.json):
//   `CommonSecurityLog | where DeviceVendor == "Vectra Networks" | where DeviceProduct == "X Series"`;
// - Exabeam (ExabeamLabs/Content-Library-CIM2, DS/Vectra/vectra_cognito_detect/Ps/
//   pC_vectracdcefalerttriggersuccessvectranetworks.md): Conditions `|Vectra Networks|X Series|`,
//   and its field regexes, quoted below.
// The real rsyslog test (test/integration/syslog-rsyslog.test.ts) parses the same lines with liblognorm.

const ID = { hostname: 'hostlock-1', version: '0.1.0', dvc: '10.9.8.7' };
const TCP = { protocol: 'tcp', host: 'siem', port: 514, format: 'cef', framing: 'lf' } as const;

const EXABEAM_CONDITION = '|Vectra Networks|X Series|';
const EXABEAM_FIELDS = {
  time: /\Wrt=(\d{13})/,
  start: /\Wstart=(\d+)/,
  host: /\Wdvc=([\w\-.]+)/,
  alert_type: /CEF:(?:[^|]*\|){4}([^|]+)/,
  alert_name: /CEF:(?:[^|]*\|){5}([^|]+)/,
  category: /\Wcat=([^=]+?)\s*(?:\w+=|$)/,
  alert_id: /\WexternalId=([^=]+?)\s*(?:\w+=|$)/,
};

describe('CEF as Vectra sends it', () => {
  it.each([
    ['lock', lockEvent()],
    ['unlock', unlockEvent()],
  ])('a %s: Vectra’s header and keys in Vectra’s order after the vectra_cef TAG', (action, e) => {
    const line = syslogLineFor(e, TCP, ID) ?? '';
    const syslog = parseRfc3164(line);
    expect(syslog.tag).toBe('vectra_cef -:');
    const cef = parseCef(syslog.msg);
    expect([cef.vendor, cef.product, cef.signatureId, cef.name, cef.severity]).toEqual(VECTRA_CEF_HEADER);
    expect(cef.deviceVersion).toBe('0.1.0');
    expect(cef.keys.slice(0, VECTRA_CEF_KEYS.length)).toEqual(VECTRA_CEF_KEYS);
    expect(cef.ext).toMatchObject({
      externalId: e.host?.machineId,
      cat: 'HOST_LOCKDOWN',
      dvc: '10.9.8.7',
      suser: e.actorName,
      host: e.host?.name,
      cs1Label: 'action',
      cs1: action,
      cs2Label: 'success',
      cs2: 'True',
      cs3Label: 'willRetry',
      cs3: 'False',
      cs4Label: 'Vectra Event URL',
      cs4: e.url,
    });
    // Sentinel's filter on the parsed header
    expect(cef.vendor === 'Vectra Networks' && cef.product === 'X Series').toBe(true);
    // Exabeam's condition and field regexes
    expect(line).toContain(EXABEAM_CONDITION);
    const exabeam = Object.fromEntries(
      Object.entries(EXABEAM_FIELDS).map(([k, re]) => [k, re.exec(line)?.[1]]),
    );
    expect(exabeam).toEqual({
      time: String(e.at.getTime()),
      start: String(e.lockdown?.lockedAt?.getTime()),
      host: '10.9.8.7',
      alert_type: 'host lockdown',
      alert_name: 'Host Lockdown',
      category: 'HOST_LOCKDOWN',
      alert_id: e.host?.machineId,
    });
  });

  it('never under Vectra’s vendor, product or TAG for hostlock’s own events', () => {
    expect(syslogLineFor(settingsEvent(), TCP, ID)).toBeNull(); // profile=vectra: not sent
    const line = syslogLineFor(settingsEvent(), { ...TCP, profile: 'full' }, ID) ?? '';
    expect(parseRfc3164(line).tag).toBe('hostlock_cef -:');
    expect(line).not.toContain(EXABEAM_CONDITION);
    const cef = parseCef(parseRfc3164(line).msg);
    expect([cef.vendor, cef.product]).toEqual(['hostlock', 'hostlock']);
  });
});

import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import type { SyslogTarget } from '../../src/core/settings/settings.js';
import { parseSyslogTarget, refusedTarget } from '../../src/core/settings/syslog-targets.js';
import { syslogLineFor } from '../../src/notify/syslog-sink.js';
import { elasticVectraDetect } from './elastic-pipeline.js';
import {
  ELASTIC_SAMPLE_EXPECTED,
  ELASTIC_SAMPLE_LINE,
  lockEvent,
  settingsEvent,
  unlockEvent,
} from './vectra-samples.js';

// Elastic's vectra_detect pipeline (test/siem/elastic-pipeline.ts, from its YAML) reads hostlock's
// lock and unlock into the fields it reads from Vectra's own sample event. (issue #19)

const ID = { hostname: 'hostlock-1', version: '0.1.0', dvc: '10.9.8.7' };

function target(line: string): SyslogTarget {
  const t = parseSyslogTarget(line);
  if (typeof t === 'string') {
    throw new Error(t);
  }
  return t;
}

const lineOf = (e: NotificationEvent, t = 'udp://elastic-agent:9025 json') =>
  syslogLineFor(e, target(t), ID) ?? '';

/** The fields of a lockdown Elastic fills from the event (its sample's list, less the sample's values). */
const LOCKDOWN_FIELDS = Object.keys(ELASTIC_SAMPLE_EXPECTED)
  .filter((k) => !k.startsWith('url.'))
  .sort();

describe('Elastic vectra_detect', () => {
  it('the emulation gives, for Elastic’s own sample, what Elastic’s pipeline test expects', () => {
    expect(elasticVectraDetect(ELASTIC_SAMPLE_LINE)).toMatchObject(ELASTIC_SAMPLE_EXPECTED);
  });

  it.each([
    ['udp', 'udp://elastic-agent:9025 json'],
    ['tcp, newline framing (the TCP input’s default)', 'tcp://elastic-agent:9025 json framing=lf'],
    ['tls, newline framing', 'tls://elastic-agent:9025 json framing=lf'],
  ])('reads a lock and an unlock sent with the target line for %s into the sample’s fields', (_, t) => {
    for (const [e, action] of [
      [lockEvent(), 'lock'],
      [unlockEvent(), 'unlock'],
    ] as const) {
      const doc = elasticVectraDetect(lineOf(e, t));
      expect(doc['error.message']).toBeUndefined();
      expect(
        Object.keys(doc)
          .filter((k) => LOCKDOWN_FIELDS.includes(k))
          .sort(),
      ).toEqual(LOCKDOWN_FIELDS);
      expect(doc).toMatchObject({
        '@timestamp': e.at.toISOString(),
        'event.action': action,
        'event.outcome': 'success',
        'event.reference': e.url,
        'host.hostname': e.host?.name,
        'host.id': e.host?.machineId,
        'user.name': e.actorName,
        'observer.ip': ['10.9.8.7'],
        'observer.version': '0.1.0',
        'vectra_detect.log.category': 'HOST_LOCKDOWN',
        'vectra_detect.log.event_type': 'vectra_json_host_lockdown',
        'vectra_detect.log.will_retry': false,
      });
      // what Elastic drops (every key it does not know) stays in event.original, for a @custom pipeline
      expect(doc['event.original']).toContain(`"event_id": "${e.id}"`);
    }
  });

  it('reads a failed lockdown as event.outcome failure', () => {
    const lock = lockEvent();
    const failed = lockEvent({
      name: 'lockdown.failed',
      outcome: 'failed',
      ...(lock.lockdown ? { lockdown: { ...lock.lockdown, state: 'failed', lockedAt: null } } : {}),
    });
    const doc = elasticVectraDetect(lineOf(failed));
    expect(doc).toMatchObject({ 'event.action': 'lock', 'event.outcome': 'failure' });
  });

  it('files nothing hostlock-only as a host lockdown (profile=full sends it under hostlock_json)', () => {
    const doc = elasticVectraDetect(lineOf(settingsEvent(), 'udp://elastic-agent:9025 json profile=full'));
    expect(doc['vectra_detect.log.event_type']).toBe('hostlock_json');
    expect(doc['event.action']).toBeUndefined();
    expect(doc['event.outcome']).toBeUndefined();
  });

  it('why the modal refuses json header=rfc5424: Elastic cannot split it at the TAG', () => {
    const stored = target('udp://elastic-agent:9025 json header=rfc5424');
    expect(refusedTarget(stored)).not.toBeNull();
    const doc = elasticVectraDetect(syslogLineFor(lockEvent(), stored, ID) ?? '');
    expect(doc['event.kind']).toBe('pipeline_error');
  });

  it('why CEF is not for Elastic: its integration reads JSON only', () => {
    const doc = elasticVectraDetect(lineOf(lockEvent(), 'udp://elastic-agent:9025 cef'));
    expect(doc['event.kind']).toBe('pipeline_error');
  });
});

// Vectra's Host Lockdown events as the public SIEM content knows them, and hostlock's events to
// hold against them (issue #19). Every sample is quoted from its source, never from our output.
import { randomBytes } from 'node:crypto';
import type { NotificationEvent } from '../../src/core/events.js';

/**
 * elastic/integrations, packages/vectra_detect/_dev/deploy/docker/sample_logs/vectra_detect.log
 * (@ a46bf564): the raw line Elastic's system tests send for a host lockdown.
 */
export const ELASTIC_SAMPLE_LINE =
  '<13>Feb 14 09:52:22 A21000000000248 vectra_json_host_lockdown -: {"version": "7.4", "host_id": 231, "user": "vectrademo", "headend_addr": "89.160.20.112", "host_name": "conrad-t480", "href": "https://x29-1-13.sc.tvec/hosts/231", "action": "unlock", "success": true, "will_retry": false, "category": "HOST_LOCKDOWN", "edr_type": "sentinelone", "vectra_timestamp": "1676364742"}';

/**
 * The fields Elastic's pipeline test expects from that event (data_stream/log/_dev/test/pipeline/
 * test-host-lockdown.log-expected.json @ a490c53e), the ones that come from the event itself.
 */
export const ELASTIC_SAMPLE_EXPECTED = {
  '@timestamp': '2023-02-14T08:52:22.000Z',
  'event.action': 'unlock',
  'event.category': ['host'],
  'event.kind': 'event',
  'event.outcome': 'success',
  'event.reference': 'https://x29-1-13.sc.tvec/hosts/231',
  'event.type': ['info'],
  'host.hostname': 'conrad-t480',
  'host.id': '231',
  'observer.ip': ['89.160.20.112'],
  'observer.product': 'Detect',
  'observer.vendor': 'Vectra',
  'observer.version': '7.4',
  'related.hosts': ['conrad-t480'],
  'related.ip': ['89.160.20.112'],
  'related.user': ['vectrademo'],
  'url.domain': 'x29-1-13.sc.tvec',
  'url.original': 'https://x29-1-13.sc.tvec/hosts/231',
  'url.path': '/hosts/231',
  'url.scheme': 'https',
  'user.name': 'vectrademo',
  'vectra_detect.log.category': 'HOST_LOCKDOWN',
  'vectra_detect.log.edr_type': 'sentinelone',
  'vectra_detect.log.event_type': 'vectra_json_host_lockdown',
  'vectra_detect.log.will_retry': false,
} as const;

/** The JSON keys of Vectra's host-lockdown event, in its order (the sample above). */
export const VECTRA_JSON_SAMPLE_KEYS = [
  'version',
  'host_id',
  'user',
  'headend_addr',
  'host_name',
  'href',
  'action',
  'success',
  'will_retry',
  'category',
  'edr_type',
  'vectra_timestamp',
];

/**
 * Vectra's CEF Host Lockdown header and keys (Vectra "Microsoft Defender ATP FAQ", Host Lockdown
 * section, via shared/reference/syslog.md §2): `CEF:0|Vectra Networks|X Series|<ver>|host
 * lockdown|Host Lockdown|3|` and these extension keys, in this order.
 */
export const VECTRA_CEF_HEADER = ['Vectra Networks', 'X Series', 'host lockdown', 'Host Lockdown', '3'];
export const VECTRA_CEF_KEYS = [
  'externalId',
  'cat',
  'dvc',
  'suser',
  'host',
  'cs1Label',
  'cs1',
  'cs2Label',
  'cs2',
  'cs3Label',
  'cs3',
  'cs4Label',
  'cs4',
  'start',
  'end',
];

const machineId = () => randomBytes(20).toString('hex');
const AT = new Date('2026-12-05T08:00:00.000Z');

/** A lockdown's lock as the outbox delivers it: the person's name and the thread link filled. */
export function lockEvent(o: Partial<NotificationEvent> = {}): NotificationEvent {
  const id = machineId();
  return {
    id: `evt_${id.slice(0, 12)}`,
    name: 'lockdown.locked',
    at: AT,
    host: { name: `ws-${id.slice(0, 6)}.contoso.com`, machineId: id, ips: ['10.20.30.40'] },
    actor: 'slack:U0ALICE001',
    actorName: 'alice',
    url: 'https://contoso.slack.com/archives/C0APPROVE1/p1764921600000100',
    outcome: 'ok',
    lockdown: {
      id: `lck_${id.slice(0, 10)}`,
      state: 'active',
      durationMinutes: 240,
      reason: 'beaconing to a known C2',
      expiresAt: new Date(AT.getTime() + 4 * 3_600_000),
      lockedAt: AT,
      releaseReason: null,
    },
    ...o,
  };
}

/** Its unlock, four hours later, by hostlock's timer. */
export function unlockEvent(): NotificationEvent {
  const at = new Date(AT.getTime() + 4 * 3_600_000);
  const lock = lockEvent();
  return {
    ...lock,
    name: 'lockdown.released',
    at,
    actor: 'system:hostlock',
    actorName: 'hostlock',
    ...(lock.lockdown ? { lockdown: { ...lock.lockdown, state: 'released', releaseReason: 'expired' } } : {}),
  };
}

/** hostlock-only: a settings change. */
export function settingsEvent(): NotificationEvent {
  const id = machineId();
  return {
    id: `evt_${id.slice(0, 12)}`,
    name: 'settings.changed',
    at: AT,
    host: null,
    actor: 'slack:U0ADMIN001',
    actorName: 'admin',
    outcome: 'ok',
    // carries a marker the receivers' output can be searched for
    detail: `fields: poll_minutes (${id})`,
  };
}

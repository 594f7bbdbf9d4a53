// Elastic's `vectra_detect` integration (elastic/integrations, package 1.14.0) for a host-lockdown
// event, step by step as its YAML says, for the SIEM conformance tests (issue #19). Written from:
// - the Elastic Agent `syslog` processor on the UDP/TCP input (agent/stream/udp.yml.hbs): it takes
//   the syslog header off (RFC 3164 or RFC 5424) and leaves the rest as `message`;
// - elasticsearch/ingest_pipeline/default.yml (@ 0b97ab02): `event.original`; dissect
//   `%{vectra_detect.log.event_type} -: %{_tmp.message}`; json; date `json.vectra_timestamp` (UNIX)
//   → @timestamp; convert `json.headend_addr` type ip → observer.ip, related.ip; `json.version` →
//   observer.version; observer.vendor/product; route `vectra_json_host_lockdown` to the lockdown
//   pipeline; user.name with `@` → user.email; `json` removed (unknown keys dropped); empty values dropped;
// - pipeline-host-lockdown.yml (@ 101b6ad3): event.kind/category/type; action → event.action;
//   success → boolean → event.outcome; host_name → host.hostname; user → user.name; category;
//   will_retry → boolean; href → event.reference → url.*; host_id → string → host.id; edr_type.
// Its own test (test-host-lockdown.log and its expected JSON) checks this emulation first.
import { isIP } from 'node:net';

export type ElasticDoc = Record<string, unknown>;

const RFC3164 = /^<(\d{1,3})>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([\s\S]*)$/;
const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\](?:\[.*?\])*) ?([\s\S]*)$/;

function append(doc: ElasticDoc, key: string, value: unknown): void {
  const list = (doc[key] as unknown[] | undefined) ?? [];
  if (!list.includes(value)) {
    list.push(value);
  }
  doc[key] = list;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') {
    return v;
  }
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) {
    return v.toLowerCase() === 'true';
  }
  return undefined;
}

/** The document Elastic indexes for one syslog line, flattened (`a.b`); `error.message` when a step failed. */
export function elasticVectraDetect(line: string): ElasticDoc {
  const doc: ElasticDoc = {
    'observer.vendor': 'Vectra',
    'observer.product': 'Detect',
    'observer.type': 'sensor',
  };
  const h3164 = RFC3164.exec(line);
  const h5424 = h3164 ? null : RFC5424.exec(line);
  const message = h3164?.[4] ?? h5424?.[8] ?? line;
  doc['log.syslog.hostname'] = h3164?.[3] ?? h5424?.[3];
  doc['event.original'] = message;
  const fail = (why: string) => ({ ...doc, 'error.message': why, 'event.kind': 'pipeline_error' });

  const split = / -: /.exec(message);
  if (!split) {
    return fail(
      'dissect_event_original: pattern `%{vectra_detect.log.event_type} -: %{_tmp.message}` did not match',
    );
  }
  const eventType = message.slice(0, split.index);
  doc['vectra_detect.log.event_type'] = eventType;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(message.slice(split.index + 4).trim()) as Record<string, unknown>;
  } catch {
    return fail('json_to_split_message: not JSON');
  }
  if (json.vectra_timestamp != null && json.vectra_timestamp !== '') {
    const seconds = Number(json.vectra_timestamp);
    if (!Number.isFinite(seconds)) {
      return fail('date: vectra_timestamp is not UNIX seconds');
    }
    doc['@timestamp'] = new Date(seconds * 1000).toISOString();
  }
  if (json.headend_addr !== undefined && json.headend_addr !== '') {
    if (typeof json.headend_addr !== 'string' || isIP(json.headend_addr) === 0) {
      return fail('convert_headend_addr_to_ip: not an IP');
    }
    append(doc, 'observer.ip', json.headend_addr);
    append(doc, 'related.ip', json.headend_addr);
  }
  if (json.version !== undefined && json.version !== null && json.version !== '') {
    doc['observer.version'] = json.version;
  }
  if (eventType === 'vectra_json_host_lockdown') {
    Object.assign(doc, { 'event.kind': 'event', 'event.category': ['host'], 'event.type': ['info'] });
    if (json.action != null && json.action !== '') {
      doc['event.action'] = json.action;
    }
    if (json.success !== undefined && json.success !== '') {
      const success = bool(json.success);
      if (success === undefined) {
        return fail('convert_success_to_boolean');
      }
      doc['event.outcome'] = success ? 'success' : 'failure';
    }
    doc['host.hostname'] = json.host_name;
    doc['user.name'] = json.user;
    doc['vectra_detect.log.category'] = json.category;
    if (json.will_retry !== undefined && json.will_retry !== '') {
      const retry = bool(json.will_retry);
      if (retry === undefined) {
        return fail('convert_will_retry_to_boolean');
      }
      doc['vectra_detect.log.will_retry'] = retry;
    }
    if (typeof json.href === 'string' && json.href !== '') {
      doc['event.reference'] = json.href;
      const u = new URL(json.href);
      Object.assign(doc, {
        'url.original': json.href,
        'url.scheme': u.protocol.replace(/:$/, ''),
        'url.domain': u.hostname,
        'url.path': u.pathname,
      });
    }
    if (json.host_id !== undefined && json.host_id !== '') {
      doc['host.id'] = String(json.host_id);
    }
    doc['vectra_detect.log.edr_type'] = json.edr_type;
    if (typeof doc['host.hostname'] === 'string') {
      append(doc, 'related.hosts', doc['host.hostname']);
    }
  }
  const user = doc['user.name'];
  if (typeof user === 'string' && user.indexOf('@') > 0) {
    doc['user.email'] = user;
    [doc['user.name'], doc['user.domain']] = user.split('@', 2);
  }
  if (typeof doc['user.name'] === 'string') {
    append(doc, 'related.user', doc['user.name']);
  }
  // "Drops null/empty values recursively"; `json` (every key not read above) is removed
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== null && v !== undefined && v !== ''));
}

import type { NotificationEvent } from '../core/events.js';
import type { SyslogTarget } from '../core/settings/settings.js';
import { DEFAULT_PEN } from '../core/settings/syslog-targets.js';
import { formatCef } from './syslog/cef.js';
import { eventSeverity, rfc3164Line, rfc5424Line, TAG } from './syslog/framing.js';
import { formatJson } from './syslog/json.js';
import { formatRfc5424 } from './syslog/rfc5424.js';
import { udpMaxBytes } from './syslog/transport.js';

export interface SyslogIdentity {
  /** HOSTNAME in the header: this instance's host name */
  hostname: string;
  /** hostlock's version, in CEF's Device Version and JSON's `version` */
  version: string;
  /** PROCID of RFC 5424 headers */
  procId?: string;
}

/**
 * One syslog line for an event and a target (syslog.md §1.5, §2, §3): RFC 5424 with the
 * `host_lockdown@<pen>` SD; CEF and JSON after an RFC 3164 header with Vectra's TAG (or inside an
 * RFC 5424 header when the target says `header=rfc5424`).
 */
export function syslogLine(e: NotificationEvent, t: SyslogTarget, id: SyslogIdentity): string {
  if (t.format === 'rfc5424') {
    return formatRfc5424(e, { hostname: id.hostname, pen: t.pen ?? DEFAULT_PEN, procId: id.procId });
  }
  const msg =
    t.format === 'cef' ? formatCef(e, { version: id.version }) : formatJson(e, { version: id.version });
  const base = { facility: 'local0' as const, severity: eventSeverity(e), at: e.at, hostname: id.hostname };
  if (t.header === 'rfc5424') {
    return rfc5424Line({ ...base, appName: 'hostlock', procId: id.procId, msgId: 'LOCKDOWN', msg });
  }
  return rfc3164Line({ ...base, tag: t.format === 'cef' ? TAG.vectraCef : TAG.vectraJson, msg });
}

const FREE_TEXT_CAPS = [256, 64, 0];

function shrink(e: NotificationEvent, cap: number): NotificationEvent {
  const cut = (s: string) => (s.length > cap ? `${s.slice(0, Math.max(0, cap - 1))}…` : s);
  return {
    ...e,
    ...(e.detail !== undefined ? { detail: cut(e.detail) } : {}),
    ...(e.host ? { host: { ...e.host, name: cut(e.host.name), ips: (e.host.ips ?? []).slice(0, 2) } } : {}),
    ...(e.lockdown ? { lockdown: { ...e.lockdown, reason: cut(e.lockdown.reason) } } : {}),
  };
}

/**
 * The line to send: over UDP it must fit one datagram (1024 bytes for RFC 3164, 2048 for RFC 5424,
 * syslog.md §4–5), so free text (reason, detail, host name) is cut step by step until it does;
 * the ids, times and action always survive. TCP and TLS send the full line.
 */
export function syslogLineFor(e: NotificationEvent, t: SyslogTarget, id: SyslogIdentity): string {
  const line = syslogLine(e, t, id);
  if (t.protocol !== 'udp' || Buffer.byteLength(line) <= udpMaxBytes(line)) {
    return line;
  }
  for (const cap of FREE_TEXT_CAPS) {
    const shorter = syslogLine(shrink(e, cap), t, id);
    if (Buffer.byteLength(shorter) <= udpMaxBytes(shorter)) {
      return shorter;
    }
  }
  return line; // the transport refuses it with a clear error; the row waits and is reported
}

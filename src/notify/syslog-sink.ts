import type { NotificationEvent } from '../core/events.js';
import type { SyslogTarget } from '../core/settings/settings.js';
import { DEFAULT_PEN, VECTRA_PEN } from '../core/settings/syslog-targets.js';
import { isVectraEvent, vectraOnly } from '../core/sinks.js';
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
  /** this instance's address as the target sees it: CEF `dvc`, JSON `headend_addr`, SD `dvc` */
  dvc?: string;
}

/** CEF Device Vendor and Product of Vectra's events (syslog.md §2), on which SC4S, Sentinel and Exabeam key. */
export const VECTRA_VENDOR = 'Vectra Networks';
export const VECTRA_PRODUCT = 'X Series';

/**
 * One syslog line for an event and a target (syslog.md §1.5, §2, §3), or `null` when the target
 * does not take the event (a `vectra` profile target and an event Vectra never sends).
 * Vectra's events (a lockdown's lock and unlock) go as Vectra sends them: CEF `Vectra Networks|X
 * Series` with Vectra's keys after the `vectra_cef -:` TAG, JSON after `vectra_json_host_lockdown -:`,
 * SD-ID `host_lockdown@<pen>`. hostlock's own events, to `profile=full` targets, under hostlock's
 * names only: CEF `hostlock|hostlock` with dictionary keys after `hostlock_cef -:`, JSON after
 * `hostlock_json -:`, SD-ID `hostlock@<pen>`. `header=rfc5424` puts CEF or JSON in an RFC 5424 header.
 */
export function syslogLine(e: NotificationEvent, t: SyslogTarget, id: SyslogIdentity): string | null {
  const vectra = isVectraEvent(e);
  const dvc = id.dvc ? { dvc: id.dvc } : {};
  if (!vectra && vectraOnly(t)) {
    return null;
  }
  if (t.format === 'rfc5424') {
    return formatRfc5424(e, {
      hostname: id.hostname,
      pen: t.pen ?? DEFAULT_PEN,
      procId: id.procId,
      ...(id.dvc ? { dvc: id.dvc } : {}),
      // hostlock's own events under its own SD-ID, never in Vectra's PEN namespace
      ...(vectra
        ? {}
        : { sdName: 'hostlock', pen: t.pen === VECTRA_PEN ? DEFAULT_PEN : (t.pen ?? DEFAULT_PEN) }),
    });
  }
  const msg =
    t.format === 'cef'
      ? formatCef(
          e,
          vectra
            ? {
                version: id.version,
                vendor: VECTRA_VENDOR,
                product: VECTRA_PRODUCT,
                profile: 'vectra-compat',
                ...dvc,
              }
            : { version: id.version, profile: 'standard', ...dvc },
        )
      : formatJson(e, { version: id.version, ...dvc });
  const base = { facility: 'local0' as const, severity: eventSeverity(e), at: e.at, hostname: id.hostname };
  if (t.header === 'rfc5424') {
    const msgId = vectra ? 'LOCKDOWN' : 'HOSTLOCK';
    return rfc5424Line({ ...base, appName: 'hostlock', procId: id.procId, msgId, msg });
  }
  const tag =
    t.format === 'cef'
      ? vectra
        ? TAG.vectraCef
        : TAG.hostlockCef
      : vectra
        ? TAG.vectraJson
        : TAG.hostlockJson;
  return rfc3164Line({ ...base, tag, msg });
}

const FREE_TEXT_CAPS = [256, 64, 0];

function shrink(e: NotificationEvent, cap: number): NotificationEvent {
  const cut = (s: string) => (s.length > cap ? `${s.slice(0, Math.max(0, cap - 1))}…` : s);
  // a link cut short leads nowhere: it goes whole or not at all
  const { url, ...rest } = e;
  return {
    ...rest,
    ...(url !== undefined && url.length <= cap ? { url } : {}),
    ...(e.actorName !== undefined ? { actorName: cut(e.actorName) } : {}),
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
export function syslogLineFor(e: NotificationEvent, t: SyslogTarget, id: SyslogIdentity): string | null {
  const line = syslogLine(e, t, id);
  if (line === null || t.protocol !== 'udp' || Buffer.byteLength(line) <= udpMaxBytes(line)) {
    return line;
  }
  for (const cap of FREE_TEXT_CAPS) {
    const shorter = syslogLine(shrink(e, cap), t, id) ?? line;
    if (Buffer.byteLength(shorter) <= udpMaxBytes(shorter)) {
      return shorter;
    }
  }
  return line; // the transport refuses it with a clear error; the row waits and is reported
}

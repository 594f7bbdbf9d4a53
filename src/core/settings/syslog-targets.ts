import type { SyslogTarget } from './settings.js';

/** Documentation PEN (RFC 5612): the SD-ID `host_lockdown@32473` unless a target names its own. */
export const DEFAULT_PEN = 32473;
/** Vectra's PEN (`host_lockdown@41261` in its samples): only ever on Vectra's events. */
export const VECTRA_PEN = 41261;

const LINE =
  /^(udp|tcp|tls):\/\/([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\]):(\d{1,5})\s+(cef|rfc5424|json)((?:\s+[a-z]+=\S+)*)$/;

const EXAMPLE = 'tcp://siem.example.com:514 cef';

/**
 * One syslog target line of the settings modal (DESIGN §3.9):
 * `<udp|tcp|tls>://<host>:<port> <cef|rfc5424|json> [framing=octet|lf] [header=rfc3164|rfc5424] [pen=<n>] [profile=vectra|full]`.
 * `framing` (TCP and TLS; UDP sends a datagram an event), `header` (the syslog header around a
 * CEF or JSON message; RFC 5424 messages always have their own), `pen` (the IANA enterprise number
 * of the SD-ID `host_lockdown@<pen>`) and `profile` (CEF and JSON: `vectra`, the default, sends
 * only Vectra's events; `full` every event) are optional. Returns the target or what is wrong.
 * A stored target keeps parsing whatever the modal now refuses ({@link refusedTarget}).
 */
export function parseSyslogTarget(line: string): SyslogTarget | string {
  const m = LINE.exec(line.trim());
  const usage = `\`${line.trim().slice(0, 60)}\` should look like ${EXAMPLE} (udp|tcp|tls, cef|rfc5424|json; optional framing=octet|lf, header=rfc3164|rfc5424, pen=<number>, profile=vectra|full).`;
  if (!m) {
    return usage;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) {
    return `Port ${m[3]} in \`${line.trim().slice(0, 60)}\` must be 1-65535.`;
  }
  const target: SyslogTarget = {
    protocol: m[1] as SyslogTarget['protocol'],
    host: (m[2] ?? '').replace(/^\[|\]$/g, ''),
    port,
    format: m[4] as SyslogTarget['format'],
  };
  for (const option of (m[5] ?? '').trim().split(/\s+/).filter(Boolean)) {
    const [key, value = ''] = option.split('=', 2);
    if (key === 'framing' && (value === 'octet' || value === 'lf')) {
      if (target.protocol === 'udp') {
        return `framing= applies to tcp and tls (udp sends one datagram per event).`;
      }
      target.framing = value;
    } else if (key === 'profile' && (value === 'vectra' || value === 'full')) {
      if (target.format === 'rfc5424') {
        return 'profile= applies to cef and json.';
      }
      if (value === 'full') {
        target.profile = value; // `vectra` is the default, and the canonical line leaves it out
      }
    } else if (key === 'header' && (value === 'rfc3164' || value === 'rfc5424')) {
      if (target.format === 'rfc5424') {
        return 'header= applies to cef and json; rfc5424 messages carry their own RFC 5424 header.';
      }
      target.header = value;
    } else if (
      key === 'pen' &&
      /^\d{1,10}$/.test(value) &&
      Number(value) >= 1 &&
      Number(value) <= 4294967295
    ) {
      if (target.format !== 'rfc5424') {
        return 'pen= applies to rfc5424 (the SD-ID host_lockdown@<pen>).';
      }
      target.pen = Number(value);
    } else {
      return `\`${option.slice(0, 40)}\` is not an option; use framing=octet|lf, header=rfc3164|rfc5424, pen=<number> or profile=vectra|full.`;
    }
  }
  return target;
}

/** The canonical line of a target: what the modal shows and what names its outbox sink. */
export function formatSyslogTarget(t: SyslogTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  const options = [
    t.framing ? `framing=${t.framing}` : '',
    t.header ? `header=${t.header}` : '',
    t.pen !== undefined ? `pen=${t.pen}` : '',
    t.profile === 'full' ? 'profile=full' : '',
  ].filter(Boolean);
  return [`${t.protocol}://${host}:${t.port} ${t.format}`, ...options].join(' ');
}

/**
 * What the settings modal refuses although it parses: combinations the common receivers cannot
 * read, with what to write instead. JSON inside an RFC 5424 header fails Elastic's vectra_detect
 * pipeline (it splits the message at ` -: `) and SC4S's Vectra rules (they key on the TAG).
 */
export function refusedTarget(t: SyslogTarget): string | null {
  if (t.format === 'json' && t.header === 'rfc5424') {
    const line = formatSyslogTarget({ ...t, header: undefined });
    return `json with header=rfc5424 is not parsed by Elastic's or Splunk's Vectra integrations; write \`${line}\` (Vectra's vectra_json_host_lockdown TAG), or use rfc5424 for structured data.`;
  }
  return null;
}

import type { EventName, NotificationEvent } from './events.js';
import { THREAD_SINK_PREFIX } from './lockdown/thread-note.js';
import type { Settings, SyslogTarget } from './settings/settings.js';
import { formatSyslogTarget, parseSyslogTarget } from './settings/syslog-targets.js';

/**
 * Where an event goes, as named in `outbox.sink`: `slack:<channel id>`, `syslog:<target line>`, or
 * `thread:<lockdown id>` (a lockdown's Slack thread, lockdown/thread-note.ts). The name carries
 * everything needed to deliver, so a queued row does not depend on later settings.
 */
export type Sink =
  | { kind: 'slack'; channel: string }
  | { kind: 'syslog'; target: SyslogTarget }
  | { kind: 'thread'; lockdownId: string };

/** The events Vectra itself sends (syslog.md §2): a lockdown's lock and its unlock, succeeded or failed. */
export const VECTRA_EVENTS: ReadonlySet<EventName> = new Set<EventName>([
  'lockdown.locked',
  'lockdown.released',
  'lockdown.failed',
]);

/**
 * Whether an event is one Vectra would send: a hostlock lockdown's lock or unlock, including the
 * end of one that someone released outside hostlock (so a SIEM never sees a lock without its
 * unlock). Isolations by others alone are not.
 */
export function isVectraEvent(e: Pick<NotificationEvent, 'name' | 'lockdown'>): boolean {
  return VECTRA_EVENTS.has(e.name) || (e.name === 'host.released_externally' && e.lockdown !== undefined);
}

/** Whether a target sends only Vectra's events: CEF and JSON unless `profile=full`. */
export function vectraOnly(t: SyslogTarget): boolean {
  return t.format !== 'rfc5424' && t.profile !== 'full';
}

/** Whether an event goes to a sink at all: a Vectra-only syslog target takes Vectra's events only. */
export function sinkTakes(sink: Sink | null, e: Pick<NotificationEvent, 'name' | 'lockdown'>): boolean {
  return !(sink?.kind === 'syslog' && vectraOnly(sink.target) && !isVectraEvent(e));
}

/** The sinks the settings configure: each alert channel, each syslog target. */
export function sinksOf(s: Pick<Settings, 'alertChannels' | 'syslogTargets'>): string[] {
  return [
    ...s.alertChannels.map((c) => `slack:${c}`),
    ...s.syslogTargets.map((t) => `syslog:${formatSyslogTarget(t)}`),
  ];
}

/** The sink a name stands for; null for a name this version cannot read. */
export function parseSink(name: string): Sink | null {
  if (name.startsWith('slack:')) {
    const channel = name.slice('slack:'.length);
    return /^[CGD][A-Z0-9]{2,30}$/.test(channel) ? { kind: 'slack', channel } : null;
  }
  if (name.startsWith(THREAD_SINK_PREFIX)) {
    const lockdownId = name.slice(THREAD_SINK_PREFIX.length);
    return /^lck_[a-z0-9]{1,40}$/.test(lockdownId) ? { kind: 'thread', lockdownId } : null;
  }
  if (name.startsWith('syslog:')) {
    const target = parseSyslogTarget(name.slice('syslog:'.length));
    return typeof target === 'string' ? null : { kind: 'syslog', target };
  }
  return null;
}

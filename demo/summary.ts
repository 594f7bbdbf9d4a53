// After the incident: what the SIEM received (one line per event, read back from the JSON hostlock
// sent) and the audit trail hostlock kept in `audit_events` (append-only).
import { type DemoEnv, PEOPLE } from './env.js';
import type { Transcript } from './transcript.js';

type Json = Record<string, unknown>;

const time = (d: Date | number | string) => new Date(d).toISOString().slice(11, 19);
const names = new Map<string, string>(
  Object.values(PEOPLE).flatMap((p) => [
    [`slack:${p.id}`, p.name],
    [p.id, p.name],
  ]),
);
const actorName = (actor: string) => names.get(actor) ?? actor;

/** The JSON object after the `vectra_json_host_lockdown -:` TAG, or null for anything else. */
function jsonOf(line: string): Json | null {
  const start = line.indexOf('{');
  if (start < 0) {
    return null;
  }
  try {
    return JSON.parse(line.slice(start)) as Json;
  } catch {
    return null;
  }
}

export async function summarise(env: DemoEnv, t: Transcript): Promise<void> {
  t.section('what the SIEM received, read back');
  const lines = env.syslog.messages.map((m) => {
    const e = jsonOf(m.line);
    if (!e) {
      return `(not JSON) ${m.line.slice(0, 120)}`;
    }
    const user = typeof e.actor_id === 'string' ? actorName(e.actor_id) : String(e.user ?? '');
    return [
      time(Number(e.vectra_timestamp) * 1000),
      String(e.event).padEnd(20),
      String(e.host_name ?? '—').padEnd(20),
      `by ${user}`.padEnd(22),
      `state ${String(e.state ?? '—')}`.padEnd(22),
      String(e.event_id),
    ].join(' ');
  });
  t.block(`${env.syslog.messages.length} syslog messages`, lines);

  t.section('the audit trail (audit_events)');
  const rows = await env.hostlock.database.sql<
    { at: Date; actor: string; action: string; target_id: string | null; outcome: string }[]
  >`select at, actor, action, target_id, outcome from audit_events order by id`;
  t.block(
    `${rows.length} audit rows`,
    rows.map((r) =>
      [
        time(r.at),
        actorName(r.actor).padEnd(22),
        r.action.padEnd(26),
        actorName(r.target_id ?? '').padEnd(22),
        r.outcome,
      ].join(' '),
    ),
  );
  const logged = env.logs.filter(Boolean);
  if (logged.length > 0) {
    t.block(
      `hostlock logged ${logged.length} warning(s)`,
      logged.map((l) => {
        const o = JSON.parse(l) as Json;
        return `${String(o.msg)} ${JSON.stringify({ ...o, level: undefined, time: undefined, msg: undefined, service: undefined, pid: undefined, hostname: undefined })}`;
      }),
    );
  }
}

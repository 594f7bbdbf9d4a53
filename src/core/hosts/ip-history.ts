import { ipVersion } from './ip.js';
import type { LookupDeps, LookupGuard } from './lookup-host.js';
import type { DefenderUnavailable } from './ports.js';
import type { Host } from './types.js';

/** Defender answers for a timestamp within the past 30 days, and 400 otherwise (mde-api.md §5.3). */
export const IP_HISTORY_DAYS = 30;
/** Devices an answer lists at most (a NAT or VPN pool address can have had many). */
export const IP_HOSTS_MAX = 50;
/** The window Defender searches around the timestamp, each way (mde-api.md §5.3). */
export const IP_WINDOW_MS = 15 * 60_000;

const DAY_MS = 24 * 60 * 60_000;

/** `2026-12-01T10:00Z`, `2026-12-01T10:00:00+01:00`: a date and time with its zone, never a local time. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i;

export type IpAtProblem = 'not_an_ip' | 'bad_time' | 'future' | 'too_old';

/** The written date and time exist (no 30 February, no 24:00, no :60), rather than rolling over. */
function onTheCalendar(at: string): boolean {
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = (at.match(/\d+/g) ?? []).map(Number);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate(); // day 0 of the next month: this one's last
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59;
}

/** The time of an "at" question, checked as Defender would (past 30 days) and read with its zone. */
export function parseIpAt(ip: string, at: string, now: Date): { ip: string; at: Date } | IpAtProblem {
  if (ipVersion(ip) === 0) {
    return 'not_an_ip';
  }
  if (!TIMESTAMP.test(at) || Number.isNaN(Date.parse(at)) || !onTheCalendar(at)) {
    return 'bad_time';
  }
  const when = new Date(at);
  if (when.getTime() > now.getTime()) {
    return 'future';
  }
  if (now.getTime() - when.getTime() > IP_HISTORY_DAYS * DAY_MS) {
    return 'too_old';
  }
  return { ip: ipVersion(ip) === 6 ? ip.toLowerCase() : ip, at: when };
}

export interface IpAtResult {
  /** the machines Defender saw with the IP in the window, as the inventory now stores them */
  hosts: Host[];
  from: Date;
  to: Date;
  defenderProblem?: DefenderUnavailable | 'failed' | 'busy';
  error?: unknown;
}

/**
 * Which machines had this internal IP at that time (issue #18, item 4): Defender's find-by-IP for
 * the ±15 min window around `at` (the local inventory knows only current addresses). Spends the
 * person's lookup quota; the machines found are stored (their current facts) and returned.
 */
export async function hostsWithIpAt(
  deps: LookupDeps,
  input: { ip: string; at: Date; who: string; guard?: LookupGuard },
): Promise<IpAtResult> {
  const window = {
    from: new Date(input.at.getTime() - IP_WINDOW_MS),
    to: new Date(input.at.getTime() + IP_WINDOW_MS),
  };
  if (input.guard && input.guard.take(input.who) > 0) {
    return { hosts: [], ...window, defenderProblem: 'busy' };
  }
  const defender = await deps.defender({ purpose: 'lookup' });
  if (typeof defender === 'string') {
    return { hosts: [], ...window, defenderProblem: defender };
  }
  try {
    const machines = (await defender.findMachinesByIp(input.ip, input.at)).slice(0, IP_HOSTS_MAX);
    if (machines.length) {
      await deps.hosts.upsertMachines(machines, deps.clock.now());
    }
    // as the inventory now stores them, in one statement for all of them
    const stored = await deps.hosts.searchMany(
      machines.map((m) => ({ kind: 'machine_id' as const, value: m.machineId })),
      1,
    );
    const hosts = stored.flatMap((s) => s.hosts);
    return { hosts, ...window };
  } catch (error) {
    const busy = (error as { code?: unknown }).code === 'mde_busy';
    return { hosts: [], ...window, defenderProblem: busy ? 'busy' : 'failed', error };
  }
}

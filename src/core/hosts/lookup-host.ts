import type { Clock } from '../clock.js';
import type { Defender, DefenderMachine, DefenderPurpose } from '../defender.js';
import { deriveIsolation } from './derive-isolation.js';
import type { HostQuery } from './parse-host-query.js';
import type { DefenderUnavailable, HostMatches, HostStore } from './ports.js';
import type { Host } from './types.js';

export const LOOKUP_LIMIT = 10;
/** findbyip answers for ±15 min around a timestamp in the past (mde-api.md §5.3). */
const FIND_BY_IP_LAG_MS = 5 * 60_000;

/**
 * Who may spend Defender calls on lookups, and what was just asked in vain (issue #14, finding 4):
 * each person gets a few Defender lookups a minute, and a query Defender just answered with
 * nothing is not asked again for a minute.
 */
export interface LookupGuard {
  /** 0 when `who` may ask Defender now (and it is counted); else the milliseconds to wait */
  take(who: string): number;
  /** whether Defender found nothing for this query within the last minute */
  recentlyMissed(key: string): boolean;
  missed(key: string): void;
}

export interface LookupDeps {
  hosts: HostStore;
  /** Defender when configured and enabled, else why not */
  defender: (opts?: { purpose?: DefenderPurpose }) => Promise<Defender | DefenderUnavailable>;
  clock: Clock;
}

export interface LookupResult extends HostMatches {
  /** whether Defender was asked during this lookup */
  askedDefender: boolean;
  /** why Defender could not be asked, when it was needed */
  /** `busy`: Defender's budget is taken by lockdowns, or this person's lookups are used up for now */
  defenderProblem?: DefenderUnavailable | 'failed' | 'busy';
  /** the failure, for the log; never shown raw to users */
  error?: unknown;
}

/** True when the local answer is missing or older than the poll interval. */
export function needsDefender(found: { hosts: Host[]; total: number }, maxAgeMs: number, now: Date): boolean {
  return found.total === 0 || found.hosts.some((h) => now.getTime() - h.syncedAt.getTime() > maxAgeMs);
}

/**
 * Finds hosts by machine id, IP or name. Answers from the local inventory; when nothing matches or
 * a match is older than `maxAgeMs`, asks Defender, stores what it says (including isolation
 * derived from the machine's actions) and answers from the refreshed inventory. A Defender
 * failure never loses the local answer: it comes back with `defenderProblem`.
 */
export async function lookupHost(
  deps: LookupDeps,
  input: {
    query: HostQuery;
    maxAgeMs: number;
    who?: string;
    guard?: LookupGuard;
    /** ask Defender whatever the inventory holds (a Refresh), still within the person's quota */
    refresh?: boolean;
    /**
     * re-derive the isolation of the machines found from their actions (one call each, default
     * on); a score feed's lookups leave it to the next sync (the isolate step checks Defender's
     * actions before it acts anyway)
     */
    withIsolation?: boolean;
  },
): Promise<LookupResult> {
  const local = await deps.hosts.search(input.query, LOOKUP_LIMIT);
  if (!input.refresh && !needsDefender(local, input.maxAgeMs, deps.clock.now())) {
    return { ...local, askedDefender: false };
  }
  const key = `${input.query.kind}:${input.query.value}`;
  if (local.total === 0 && input.guard?.recentlyMissed(key)) {
    return { ...local, askedDefender: false };
  }
  if (input.guard && input.who && input.guard.take(input.who) > 0) {
    return { ...local, askedDefender: false, defenderProblem: 'busy' };
  }
  const defender = await deps.defender({ purpose: 'lookup' });
  if (typeof defender === 'string') {
    return { ...local, askedDefender: false, defenderProblem: defender };
  }
  try {
    const now = deps.clock.now();
    const machines = await fetchMachines(defender, input.query, now);
    if (machines.length === 0) {
      input.guard?.missed(key);
    }
    if (machines.length) {
      await deps.hosts.upsertMachines(machines, now);
      if (input.withIsolation ?? true) {
        await refreshIsolation(
          deps.hosts,
          defender,
          machines.slice(0, LOOKUP_LIMIT).map((m) => m.machineId),
        );
      }
    }
    const found = await deps.hosts.search(input.query, LOOKUP_LIMIT);
    if (found.total === 0 && machines.length > 0) {
      // Defender knows the address or prefix, but as no current fact of a machine: not asked again for a minute
      input.guard?.missed(key);
    }
    return { ...found, askedDefender: true };
  } catch (error) {
    const busy = (error as { code?: unknown }).code === 'mde_busy';
    return { ...local, askedDefender: true, defenderProblem: busy ? 'busy' : 'failed', error };
  }
}

async function fetchMachines(defender: Defender, q: HostQuery, now: Date): Promise<DefenderMachine[]> {
  switch (q.kind) {
    case 'machine_id': {
      const m = await defender.getMachine(q.value);
      return m ? [m] : [];
    }
    case 'ip':
      return defender.findMachinesByIp(q.value, new Date(now.getTime() - FIND_BY_IP_LAG_MS));
    case 'name':
      // a prefix query also finds the FQDN of a short name (`web-01` → `web-01.contoso.com`)
      return defender.findMachinesByName(q.value, { prefix: true, top: 100 });
  }
}

/** Re-derives isolation of a few machines from their own recent actions (one call each). */
export async function refreshIsolation(
  hosts: HostStore,
  defender: Defender,
  machineIds: readonly string[],
): Promise<number> {
  if (machineIds.length === 0) {
    return 0;
  }
  const own = await hosts.ownActionIds(machineIds);
  const updates = [];
  for (const machineId of machineIds) {
    const actions = await defender.listActions({ machineId, top: 50 });
    const isolation = deriveIsolation(actions, own);
    if (isolation) {
      updates.push({ machineId, ...isolation });
    }
  }
  return hosts.setIsolation(updates);
}

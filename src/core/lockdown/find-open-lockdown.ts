import type { HostQuery } from '../hosts/parse-host-query.js';
import type { HostStore } from '../hosts/ports.js';
import type { Host } from '../hosts/types.js';
import { pickOne } from './pick-host.js';
import type { Lockdown, LockdownStore } from './types.js';

export type OpenLockdownLookup =
  | { found: 'lockdown'; host: Host; lockdown: Lockdown }
  | { found: 'no_host' }
  | { found: 'ambiguous'; total: number }
  /** the host has no open hostlock lockdown; `isolatedOutside` when someone else isolated it */
  | { found: 'no_lockdown'; host: Host; isolatedOutside: boolean };

/**
 * The open lockdown of the host a person named (`/hostlock unlock <host>`), resolved from the local
 * inventory with the same host picking as a lock request, so unlock and lock agree on "which host".
 */
export async function findOpenLockdown(
  deps: { hosts: HostStore; lockdowns: LockdownStore },
  query: HostQuery,
): Promise<OpenLockdownLookup> {
  const found = await deps.hosts.search(query, 10);
  const host = pickOne(found.hosts, query);
  if (!host) {
    return found.total === 0 ? { found: 'no_host' } : { found: 'ambiguous', total: found.total };
  }
  const lockdown = await deps.lockdowns.openForMachine(host.machineId);
  if (!lockdown) {
    return { found: 'no_lockdown', host, isolatedOutside: host.isolationState === 'isolated_outside' };
  }
  return { found: 'lockdown', host, lockdown };
}

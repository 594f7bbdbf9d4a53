import type { HostQuery } from '../hosts/parse-host-query.js';
import type { Host } from '../hosts/types.js';

/** Exactly one usable machine: a single match, or a single exact (case-insensitive) name among several. */
export function pickOne(hosts: Host[], q: HostQuery): Host | null {
  const usable = hosts.filter((h) => !h.mergedIntoMachineId && !h.goneAt);
  if (hosts.length === 1) {
    return hosts[0] ?? null;
  }
  if (q.kind === 'name') {
    const exact = usable.filter(
      (h) => h.name.toLowerCase() === q.value || h.name.toLowerCase().split('.')[0] === q.value,
    );
    if (exact.length === 1) {
      return exact[0] ?? null;
    }
  }
  return usable.length === 1 ? (usable[0] ?? null) : null;
}

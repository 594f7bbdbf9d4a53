import type { Clock } from '../clock.js';
import type { Defender, DefenderAction } from '../defender.js';
import { deriveIsolation } from './derive-isolation.js';
import { refreshIsolation } from './lookup-host.js';
import type { HostStore } from './ports.js';

export interface SyncResult {
  machines: number;
  gone: number;
  isolationChanged: number;
  startedAt: Date;
  finishedAt: Date;
}

/** Actions created this long before the previous run are read again, for late-arriving ones. */
const OVERLAP_MS = 60 * 60_000;
/** Without a previous run, how far back isolation history is read. */
export const FIRST_RUN_WINDOW_MS = 30 * 24 * 60 * 60_000;
const ACTIONS_PER_TYPE = 100_000;
const MAX_DIRECT_CHECKS = 50;

/**
 * One inventory run: every machine from Defender, batch by batch as it arrives, recorded in bulk
 * (only changed hosts rewritten); machines no longer listed marked gone (only after the whole list arrived); isolation re-derived from the
 * Isolate/Unisolate actions created since the previous run, plus a direct look at hosts still
 * isolating or releasing, whose deciding action may be older than the window. Throws on any
 * Defender failure: the hosts written before it keep their fresh facts, and none is marked gone.
 */
export async function syncHosts(
  deps: { hosts: HostStore; defender: Defender; clock: Clock },
  input: { previousRunAt: Date | null },
): Promise<SyncResult> {
  const startedAt = deps.clock.now();
  // Batches are written as their bytes arrive (a batch may come twice: recording is idempotent),
  // one written while the next is read: waiting for the previous write before taking a batch
  // keeps at most two in memory and lets a write failure stop the listing.
  let writing: Promise<void> = Promise.resolve();
  const run = await deps.hosts.startListing();
  try {
    await deps.defender.listMachines(async (batch) => {
      await writing;
      writing = deps.hosts.recordListed(batch, startedAt);
      writing.catch(() => {}); // awaited with the next batch, or below
    });
  } finally {
    await writing;
  }
  const { gone, listed: machines } = await deps.hosts.markGone(startedAt, run);

  const since = input.previousRunAt
    ? new Date(input.previousRunAt.getTime() - OVERLAP_MS)
    : new Date(startedAt.getTime() - FIRST_RUN_WINDOW_MS);
  const [isolates, releases] = await Promise.all([
    deps.defender.listActions({ type: 'Isolate', since, top: ACTIONS_PER_TYPE }),
    deps.defender.listActions({ type: 'Unisolate', since, top: ACTIONS_PER_TYPE }),
  ]);
  const byMachine = new Map<string, DefenderAction[]>();
  for (const a of [...isolates, ...releases]) {
    byMachine.set(a.machineId, [...(byMachine.get(a.machineId) ?? []), a]);
  }
  const own = await deps.hosts.ownActionIds([...byMachine.keys()]);
  const updates = [];
  for (const [machineId, actions] of byMachine) {
    const isolation = deriveIsolation(actions, own);
    if (isolation) {
      updates.push({ machineId, ...isolation });
    }
  }
  let isolationChanged = await deps.hosts.setIsolation(updates);
  // one call each: a bounded number per run, the rest next run
  const stuck = (await deps.hosts.transitional())
    .filter((id) => !byMachine.has(id))
    .slice(0, MAX_DIRECT_CHECKS);
  isolationChanged += await refreshIsolation(deps.hosts, deps.defender, stuck);
  return { machines, gone, isolationChanged, startedAt, finishedAt: deps.clock.now() };
}

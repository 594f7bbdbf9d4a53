import type { Agenda } from 'agenda';
import type { Clock } from '../core/clock.js';
import type { FaultHook } from '../core/faults.js';
import type { LookupGuard } from '../core/hosts/lookup-host.js';
import {
  type Announcer,
  DEFAULT_TIMING,
  type LockdownDeps,
  type LockdownTiming,
} from '../core/lockdown/ports.js';
import type { Settings } from '../core/settings/settings.js';
import type { Store } from '../core/store.js';
import type { DatabaseHandle } from '../db/client.js';
import { hostStore } from '../db/repos/hosts.js';
import { lockdownStore } from '../db/repos/lockdowns.js';
import type { Logger } from '../log.js';
import { createHostsSync, defineHostsSync, type HostsSyncDeps, scheduleHostsSync } from './hosts-sync.js';
import { createLockdownJobs } from './lockdown-jobs.js';
import { createScheduler } from './scheduler.js';
import { scheduleScoresPrune } from './scores-prune.js';

/** How long stopping waits for running jobs before leaving them to another worker. */
const DRAIN_TIMEOUT_MS = 25_000;

export interface EngineOptions {
  databaseUrl: string;
  log: Logger;
  /** Agenda poll period; tests shorten it */
  processEvery?: string;
  /** run the first inventory sync at start (default) or only after one interval */
  syncOnStart?: boolean;
  /** how often each process looks for due lockdowns (default 1 s) */
  lockdownTickMs?: number;
  lockdownTiming?: Partial<LockdownTiming>;
  faults?: FaultHook;
}

/**
 * Agenda, the inventory sync and the lockdown engine with its ports, started and scheduled; what
 * is started is pushed on `cleanup`, to be stopped in reverse order.
 */
export async function startEngine(
  opts: EngineOptions,
  p: {
    database: DatabaseHandle;
    defender: HostsSyncDeps['defender'] & {
      get(o?: { evenIfPaused?: boolean }): ReturnType<LockdownDeps['defender']>;
    };
    settings: () => Promise<Settings>;
    clock: Clock;
    announce: Announcer;
    /** the per-person lookup quota shared with the Slack lookups */
    lookupGuard?: LookupGuard;
    store: Store;
  },
  cleanup: Array<() => Promise<void>>,
): Promise<{
  scheduler: ReturnType<typeof createScheduler>;
  hostsSync: ReturnType<typeof createHostsSync>;
  lockdownJobs: ReturnType<typeof createLockdownJobs>;
  lockdown: LockdownDeps;
  agenda: Agenda;
}> {
  const log = opts.log.child({ component: 'jobs' });
  const scheduler = createScheduler({
    databaseUrl: opts.databaseUrl,
    log,
    ...(opts.processEvery ? { processEvery: opts.processEvery } : {}),
  });
  const hostsSync = createHostsSync({ database: p.database, defender: p.defender, clock: p.clock, log });
  defineHostsSync(scheduler.agenda, hostsSync);
  const lockdownJobs = createLockdownJobs(scheduler.agenda, log);
  const lockdown: LockdownDeps = {
    lockdowns: lockdownStore(p.database.db),
    hosts: hostStore(p.database.db),
    defender: (o) => p.defender.get(o),
    settings: p.settings,
    clock: p.clock,
    announce: p.announce,
    audit: p.store.audit,
    wake: lockdownJobs.wake,
    timing: { ...DEFAULT_TIMING, ...opts.lockdownTiming },
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(p.lookupGuard ? { lookupGuard: p.lookupGuard } : {}),
  };
  lockdownJobs.define(lockdown);
  await scheduler.start();
  cleanup.push(async () => void (await scheduler.drain(DRAIN_TIMEOUT_MS)));
  await scheduleHostsSync(scheduler.agenda, (await p.settings()).pollMinutes, {
    skipImmediate: opts.syncOnStart === false,
  });
  await lockdownJobs.schedule();
  await scheduleScoresPrune(scheduler.agenda, { store: p.store, clock: p.clock, settings: p.settings, log });
  // Lockdowns that fell due while no process ran are taken up at once (the first tick), not at
  // the next minute's sweep, which another process may hold: row locks keep ticks from acting twice.
  lockdownJobs.startTicker(opts.lockdownTickMs ?? 1_000);
  cleanup.push(() => lockdownJobs.stop());
  return { scheduler, hostsSync, lockdownJobs, lockdown, agenda: scheduler.agenda };
}

import type { Agenda } from 'agenda';
import { eq } from 'drizzle-orm';
import type { Clock } from '../core/clock.js';
import type { Defender, DefenderPurpose } from '../core/defender.js';
import type { DefenderUnavailable } from '../core/hosts/ports.js';
import { type SyncResult, syncHosts } from '../core/hosts/sync-hosts.js';
import type { DatabaseHandle } from '../db/client.js';
import { hostStore } from '../db/repos/hosts.js';
import { inventorySync } from '../db/schema.js';
import type { Logger } from '../log.js';
import { JobName } from './names.js';

export type SyncOutcome =
  | { status: 'ok'; result: SyncResult }
  | { status: 'not_configured' | 'paused' | 'already_running' }
  | { status: 'failed'; error: string };

export interface HostsSyncDeps {
  database: DatabaseHandle;
  /** Defender when configured and enabled, else why not (src/mde/provider.ts) */
  defender: { get(opts?: { purpose?: DefenderPurpose }): Promise<Defender | DefenderUnavailable> };
  clock: Clock;
  log: Logger;
}

// One closure over the sync's state (the last skip reason); run and syncLocked are its two steps.
/**
 * One inventory run, at most one at a time across every process: a session advisory lock on a
 * reserved connection, because Agenda may hand a long run's job to another worker once its lock
 * lifetime passes (reliability.md §1.1). A failed run records its error and keeps the inventory.
 */
export function createHostsSync(deps: HostsSyncDeps) {
  let lastSkip: string | undefined;
  const { db, sql } = deps.database;

  async function run(): Promise<SyncOutcome> {
    const defender = await deps.defender.get({ purpose: 'sync' });
    if (typeof defender === 'string') {
      if (lastSkip !== defender) {
        deps.log.info({ reason: defender }, 'hosts.sync_skipped');
        lastSkip = defender;
      }
      return { status: defender };
    }
    lastSkip = undefined;
    const conn = await sql.reserve();
    try {
      const [lock] = await conn<
        { ok: boolean }[]
      >`select pg_try_advisory_lock(hashtext('hostlock:hosts.sync')) as ok`;
      if (!lock?.ok) {
        deps.log.info({}, 'hosts.sync_already_running');
        return { status: 'already_running' };
      }
      try {
        return await syncLocked(defender);
      } finally {
        await conn`select pg_advisory_unlock(hashtext('hostlock:hosts.sync'))`;
      }
    } finally {
      conn.release();
    }
  }

  async function syncLocked(defender: Defender): Promise<SyncOutcome> {
    const [previous] = await db.select().from(inventorySync).where(eq(inventorySync.id, 1));
    const startedAt = deps.clock.now();
    await db
      .insert(inventorySync)
      .values({ id: 1, lastStartedAt: startedAt })
      .onConflictDoUpdate({ target: inventorySync.id, set: { lastStartedAt: startedAt } });
    try {
      const result = await syncHosts(
        { hosts: hostStore(db), defender, clock: deps.clock },
        { previousRunAt: previous?.lastSuccessAt ?? null },
      );
      await db
        .update(inventorySync)
        .set({
          lastFinishedAt: result.finishedAt,
          lastSuccessAt: result.startedAt,
          lastError: null,
          machines: result.machines,
          gone: result.gone,
        })
        .where(eq(inventorySync.id, 1));
      // An active lockdown whose host no longer looks isolated by hostlock is looked at now: the
      // engine checks Defender's actions and ends it as released_externally if someone released it.
      const woken = await sql`
        update lockdowns l set next_check_at = now()
        from hosts h
        where h.machine_id = l.machine_id and l.state = 'active'
          and h.isolation_state <> 'isolated_by_hostlock'
          and (l.next_check_at is null or l.next_check_at > now())
        returning l.id`;
      deps.log.info(
        {
          lockdownsToCheck: woken.length,
          machines: result.machines,
          gone: result.gone,
          isolationChanged: result.isolationChanged,
          ms: result.finishedAt.getTime() - result.startedAt.getTime(),
        },
        'hosts.synced',
      );
      return { status: 'ok', result };
    } catch (e) {
      const error = describeFailure(e);
      await db
        .update(inventorySync)
        .set({ lastFinishedAt: deps.clock.now(), lastError: error })
        .where(eq(inventorySync.id, 1));
      deps.log.error({ err: e }, 'hosts.sync_failed');
      return { status: 'failed', error };
    }
  }

  return { run };
}

/** Registers the job; the row decides nothing here, the job only says "sync now". */
export function defineHostsSync(agenda: Agenda, sync: { run(): Promise<SyncOutcome> }): void {
  agenda.define(
    JobName.hostsSync,
    async () => {
      await sync.run();
    },
    { concurrency: 1, lockLifetime: 30 * 60_000 },
  );
}

/** (Re)schedules the recurring sync; `every` keeps a single job row however many processes call it. */
export async function scheduleHostsSync(
  agenda: Agenda,
  pollMinutes: number,
  opts: { skipImmediate?: boolean } = {},
): Promise<void> {
  await agenda.every(`${pollMinutes} minutes`, JobName.hostsSync, undefined, {
    skipImmediate: opts.skipImmediate ?? false,
  });
}

/** One inventory run now, besides the schedule (Defender just became usable). */
export async function syncHostsNow(agenda: Agenda): Promise<void> {
  await agenda.now(JobName.hostsSync);
}

/** For /readyz: the last run's outcome, from the database (any process may have run it). */
export async function inventoryReadiness(
  database: DatabaseHandle,
): Promise<{ ok: boolean; lastSuccessAt: string | null; error?: string }> {
  const [row] = await database.db.select().from(inventorySync).where(eq(inventorySync.id, 1));
  const failed = !!row?.lastError;
  return {
    ok: !failed,
    lastSuccessAt: row?.lastSuccessAt?.toISOString() ?? null,
    ...(failed && row?.lastError ? { error: row.lastError } : {}),
  };
}

/** A short cause for /readyz: drizzle's "Failed query" wrapper carries the whole statement and its rows. */
function describeFailure(e: unknown): string {
  const cause =
    e instanceof Error && e.message.startsWith('Failed query') && e.cause instanceof Error ? e.cause : e;
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}

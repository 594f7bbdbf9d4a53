import { and, asc, eq, inArray, isNull, like, lt, not, notInArray, sql } from 'drizzle-orm';
import { eventPayload, type NotificationEvent } from '../../core/events.js';
import { newId } from '../../core/ids.js';
import {
  THREAD_SINK_PREFIX,
  type ThreadPost,
  threadPayload,
  threadSink,
} from '../../core/lockdown/thread-note.js';
import { parseSink, sinksOf, sinkTakes } from '../../core/sinks.js';
import type { Outbox } from '../../core/store.js';
import { scrubSecrets } from '../../log.js';
import type { Database } from '../client.js';
import { outbox } from '../schema.js';
import { parseSettings } from './settings.js';

/** The channel every `enqueueEvents` commit wakes (pg_notify is delivered only on commit). */
export const OUTBOX_CHANNEL = 'hostlock_outbox';

export type OutboxRow = typeof outbox.$inferSelect;

/**
 * Queues events for every sink the settings name, in the caller's transaction: the rows commit with
 * the change they report, or not at all. Returns how many rows were written (0 without sinks: the
 * audit row is then the only record, which is what an install without sinks asked for).
 */
export async function enqueueEvents(tx: Database, events: readonly NotificationEvent[]): Promise<number> {
  if (events.length === 0) {
    return 0;
  }
  // FOR SHARE: a settings save that removes a sink waits for this transaction, so its
  // abandonSinks sees (and gives up) these rows too, instead of leaving them to a dead target.
  const [row] = await tx.execute<{ data: unknown }>(sql`select data from settings where id = 1 for share`);
  const sinks = sinksOf(parseSettings(row?.data));
  if (sinks.length === 0) {
    return 0;
  }
  const rows = events.flatMap((e) => {
    const payload = scrubSecrets(eventPayload(e)); // Defender error texts may quote credentials
    return sinks
      .filter((sink) => sinkTakes(parseSink(sink), e))
      .map((sink) => ({ eventId: e.id, event: e.name, sink, payload }));
  });
  if (rows.length === 0) {
    return 0;
  }
  await tx.insert(outbox).values(rows).onConflictDoNothing();
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
  return rows.length;
}

/**
 * Queues a post in a lockdown's Slack thread (core/lockdown/thread-note.ts) under the sink
 * `thread:<lockdownId>`, in the caller's transaction; nothing when the lockdown has no thread.
 */
export async function enqueueThreadNote(tx: Database, post: ThreadPost): Promise<void> {
  const l = post.lockdown;
  if (!l.approvalChannel || !l.approvalTs) {
    return;
  }
  await tx.insert(outbox).values({
    eventId: newId('evt'),
    event: post.name,
    sink: threadSink(l.id),
    payload: scrubSecrets(threadPayload(post)),
  });
  await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/**
 * Undelivered rows of sinks no longer in the settings, when an admin removes a sink: recorded as
 * given up (`last_error`), with the count returned for the audit row of that settings change.
 */
export async function abandonSinks(tx: Database, keep: readonly string[], now: Date): Promise<number> {
  const rows = await tx
    .update(outbox)
    .set({ deliveredAt: now, lastError: 'not delivered: the sink was removed from the settings' })
    .where(
      and(
        isNull(outbox.deliveredAt),
        // a lockdown's thread is not a configured sink: its posts are never given up here
        not(like(outbox.sink, `${THREAD_SINK_PREFIX}%`)),
        keep.length ? notInArray(outbox.sink, [...keep]) : undefined,
      ),
    )
    .returning({ id: outbox.id });
  return rows.length;
}

/** The outbox as core's port; `db` may be a transaction. */
export const outboxRepo = (db: Database): Outbox => ({
  enqueue: (events) => enqueueEvents(db, events),
  abandonOtherSinks: (keep, now) => abandonSinks(db, keep, now),
});

/** Sinks whose oldest undelivered row is due: each is delivered strictly in row order. */
export async function dueSinks(db: Database, now: Date): Promise<string[]> {
  const rows = await db.execute<{ sink: string; next_attempt_at: Date | string }>(sql`
    select distinct on (sink) sink, next_attempt_at from outbox
    where delivered_at is null order by sink, id`);
  return rows.filter((r) => new Date(r.next_attempt_at).getTime() <= now.getTime()).map((r) => r.sink);
}

/**
 * Claims the sink's oldest undelivered rows, up to `max` and stopping at the first that is not due,
 * for `leaseMs` (their `next_attempt_at` moves to the lease's end and the transaction commits at
 * once): while the head is leased, no worker in any process sends the sink's later rows, so the
 * sink keeps its order without a transaction held open across the network. A worker that dies
 * mid-send leaves the lease to expire; the rows it claimed are sent again (the duplicates a crash
 * may cause: at most one batch). 'busy': another worker is claiming; 'idle': the head is not due
 * (failed and waiting, or leased).
 */
export async function claimBatch(
  db: Database,
  sink: string,
  now: Date,
  leaseMs: number,
  max: number,
): Promise<OutboxRow[] | 'busy' | 'idle'> {
  return db.transaction(async (tx) => {
    const [lock] = await tx.execute<{ ok: boolean }>(
      sql`select pg_try_advisory_xact_lock(hashtextextended(${`hostlock.outbox:${sink}`}, 0)) as ok`,
    );
    if (!lock?.ok) {
      return 'busy' as const;
    }
    const head = await tx
      .select()
      .from(outbox)
      .where(and(eq(outbox.sink, sink), isNull(outbox.deliveredAt)))
      .orderBy(asc(outbox.id))
      .limit(max)
      .for('update');
    const due = head.findIndex((r) => r.nextAttemptAt.getTime() > now.getTime());
    const rows = due === -1 ? head : head.slice(0, due);
    if (rows.length === 0) {
      return 'idle' as const;
    }
    const lease = new Date(now.getTime() + leaseMs);
    await tx
      .update(outbox)
      .set({ nextAttemptAt: lease })
      .where(
        inArray(
          outbox.id,
          rows.map((r) => r.id),
        ),
      );
    return rows.map((r) => ({ ...r, nextAttemptAt: lease }));
  });
}

/** The rows of `rows` still held under the lease they were claimed with. */
const stillClaimed = (rows: readonly OutboxRow[]) =>
  and(
    inArray(
      outbox.id,
      rows.map((r) => r.id),
    ),
    isNull(outbox.deliveredAt),
    // one batch, one lease
    eq(outbox.nextAttemptAt, (rows[0] as OutboxRow).nextAttemptAt),
  );

/**
 * Marks claimed rows delivered in one statement; returns how many were still under their lease
 * (fewer: the lease ran out meanwhile and another worker took them).
 */
export async function markDelivered(db: Database, rows: readonly OutboxRow[], at: Date): Promise<number> {
  if (rows.length === 0) {
    return 0;
  }
  const done = await db
    .update(outbox)
    .set({ deliveredAt: at, attempts: sql`${outbox.attempts} + 1`, lastError: null })
    .where(stillClaimed(rows))
    .returning({ id: outbox.id });
  return done.length;
}

/** Gives claimed rows that were not attempted back to the queue, due at once. */
export async function releaseClaims(db: Database, rows: readonly OutboxRow[], now: Date): Promise<void> {
  if (rows.length > 0) {
    await db.update(outbox).set({ nextAttemptAt: now }).where(stillClaimed(rows));
  }
}

/** Records a failed attempt at a claimed row; it stays at the head until `next`. */
export async function markFailed(db: Database, row: OutboxRow, error: string, next: Date): Promise<void> {
  await db
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error.slice(0, 1000), nextAttemptAt: next })
    .where(stillClaimed([row]));
}

/**
 * Puts rows back in the queue: sent on a stream connection that then broke, so the receiver may
 * not have read them. They go out again before anything still queued (the queue is in id order);
 * the receiver can drop the copies by event id.
 */
export async function requeue(db: Database, ids: readonly number[], why: string): Promise<number> {
  if (ids.length === 0) {
    return 0;
  }
  const rows = await db
    .update(outbox)
    .set({ deliveredAt: null, lastError: why, nextAttemptAt: sql`now()` })
    .where(inArray(outbox.id, [...ids]))
    .returning({ id: outbox.id });
  return rows.length;
}

export interface OutboxStats {
  pending: number;
  /** age in seconds of the oldest undelivered row; 0 when none */
  oldestSeconds: number;
  /** undelivered rows older than the stale age, by sink */
  stale: Record<string, number>;
}

export async function outboxStats(db: Database, now: Date, staleAfterMs: number): Promise<OutboxStats> {
  const cutoff = new Date(now.getTime() - staleAfterMs);
  const rows = await db.execute<{ sink: string; pending: number; oldest: Date | string; stale: number }>(sql`
    select sink, count(*)::int as pending, min(created_at) as oldest,
           count(*) filter (where created_at < ${cutoff.toISOString()}::timestamptz)::int as stale
    from outbox where delivered_at is null group by sink`);
  let pending = 0;
  let oldest = now.getTime();
  const stale: Record<string, number> = {};
  for (const r of rows) {
    pending += r.pending;
    oldest = Math.min(oldest, new Date(r.oldest).getTime());
    if (r.stale > 0) {
      stale[r.sink] = r.stale;
    }
  }
  return { pending, oldestSeconds: Math.max(0, Math.round((now.getTime() - oldest) / 1000)), stale };
}

/**
 * Marks undelivered rows older than the stale age as reported, once, and returns how many each
 * sink had (with its oldest row's time and last error), so the caller can tell people.
 */
export async function takeStale(
  db: Database,
  now: Date,
  staleAfterMs: number,
): Promise<Array<{ sink: string; count: number; since: Date; lastError: string | null }>> {
  const cutoff = new Date(now.getTime() - staleAfterMs);
  const rows = await db
    .update(outbox)
    .set({ staleReportedAt: now })
    .where(and(isNull(outbox.deliveredAt), isNull(outbox.staleReportedAt), lt(outbox.createdAt, cutoff)))
    .returning({ sink: outbox.sink, createdAt: outbox.createdAt, lastError: outbox.lastError });
  const bySink = new Map<string, { sink: string; count: number; since: Date; lastError: string | null }>();
  for (const r of rows) {
    const s = bySink.get(r.sink) ?? { sink: r.sink, count: 0, since: r.createdAt, lastError: r.lastError };
    s.count += 1;
    if (r.createdAt < s.since) {
      s.since = r.createdAt;
    }
    s.lastError ??= r.lastError;
    bySink.set(r.sink, s);
  }
  return [...bySink.values()];
}

import { sql } from 'drizzle-orm';
import type { AuditEntry, AuditLog } from '../../core/store.js';
import { scrubSecrets } from '../../log.js';
import type { Database } from '../client.js';
import { auditEvents } from '../schema.js';

export type { AuditEntry };

/** Appends one audit row (the table refuses UPDATE and DELETE); details are scrubbed of secrets. */
export async function appendAudit(db: Database, e: AuditEntry): Promise<void> {
  await db.insert(auditEvents).values({
    actor: e.actor,
    action: e.action,
    targetType: e.targetType ?? null,
    targetId: e.targetId ?? null,
    outcome: e.outcome,
    details: scrubSecrets(e.details ?? {}),
  });
}

export const auditLog = (db: Database): AuditLog => ({
  append: (e) => appendAudit(db, e),
  async countRefusal(key, windowMs) {
    const [r] = await db.execute<{ count: number; old_count: number | null; reset: boolean }>(sql`
      with old as (select count, window_started_at from refusal_counts where key = ${key})
      insert into refusal_counts as rc (key, window_started_at, count, last_at)
      values (${key}, now(), 1, now())
      on conflict (key) do update set
        count = case when rc.window_started_at < now() - ${`${windowMs} milliseconds`}::interval then 1 else rc.count + 1 end,
        window_started_at = case when rc.window_started_at < now() - ${`${windowMs} milliseconds`}::interval
                                 then now() else rc.window_started_at end,
        last_at = now()
      returning count, (select count from old) as old_count,
                (select window_started_at from old) is null or count = 1 as reset`);
    return { first: r?.count === 1, previousWindow: r?.reset && r.old_count ? r.old_count : 0 };
  },
  async serialize(key) {
    await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
  },
  async recentlyAnnounced(q) {
    const rows = await db.execute(sql`
      select 1 from audit_events
      where target_type = ${q.targetType} and target_id = ${q.targetId}
        and at > ${q.since.toISOString()}::timestamptz and action = ${q.action}
        and details->>'why' = ${q.why} and (details->>'announced')::boolean
      limit 1`);
    return rows.length > 0;
  },
});

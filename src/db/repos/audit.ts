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

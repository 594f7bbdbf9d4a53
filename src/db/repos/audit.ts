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

export const auditLog = (db: Database): AuditLog => ({ append: (e) => appendAudit(db, e) });

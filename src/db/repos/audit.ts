import { scrubSecrets } from '../../log.js';
import type { Database } from '../client.js';
import { auditEvents } from '../schema.js';

export interface AuditEntry {
  /** e.g. `slack:U123`, `api:tok_…`, `system:bootstrap` */
  actor: string;
  /** e.g. `settings.changed`, `lockdown.approved`, `authz.denied` */
  action: string;
  targetType?: string;
  targetId?: string;
  outcome: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
}

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

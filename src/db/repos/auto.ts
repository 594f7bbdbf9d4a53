import { sql } from 'drizzle-orm';
import { autoSuppressedEvent } from '../../core/events.js';
import type { Suppression } from '../../core/lockdown/auto-lockdown.js';
import type { Database } from '../client.js';
import { appendAudit } from './audit.js';
import { enqueueEvents } from './outbox.js';

/** One hit held back by automation is always audited; announced once an hour per reason and host (per reason for the cap). */
export function autoSuppressor(db: Database): (s: Suppression) => Promise<void> {
  return (s) =>
    db.transaction(async (tx) => {
      const target =
        s.why === 'cap'
          ? { targetType: 'auto', targetId: 'hourly_cap' }
          : { targetType: 'host', targetId: s.host.machineId };
      // serialises the check-then-announce of concurrent hits (other requests, other processes)
      await tx.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${`hostlock.auto.suppressed:${s.why}:${target.targetId}`}, 0))`,
      );
      const recent = await tx.execute(sql`
        select 1 from audit_events
        where target_type = ${target.targetType} and target_id = ${target.targetId}
          and at > now() - interval '1 hour' and action = 'auto.suppressed'
          and details->>'why' = ${s.why} and (details->>'announced')::boolean
        limit 1`);
      const announce = recent.length === 0;
      await appendAudit(tx, {
        actor: 'system:auto',
        action: 'auto.suppressed',
        ...target,
        outcome: 'denied',
        details: {
          why: s.why,
          machineId: s.host.machineId,
          host: s.host.name,
          rule: s.trigger,
          announced: announce,
        },
      });
      if (announce) {
        const host = {
          name: s.host.name,
          machineId: s.host.machineId,
          ...(s.host.ips.length ? { ips: s.host.ips } : {}),
        };
        await enqueueEvents(tx, [autoSuppressedEvent(host, s.detail, new Date())]);
      }
    });
}

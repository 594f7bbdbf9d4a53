import type { Logger } from '../log.js';
import type { Database } from './client.js';
import { appendAudit } from './repos/audit.js';
import { roleBindings } from './schema.js';

/**
 * HOSTLOCK_ADMINS: grants `admin` to each listed user at start, so a fresh install has someone who
 * can open the settings modal. Existing bindings are kept; nothing is ever revoked from here.
 */
export async function bootstrapAdmins(db: Database, userIds: string[], log: Logger): Promise<void> {
  for (const userId of userIds) {
    const added = await db
      .insert(roleBindings)
      .values({ role: 'admin', subjectType: 'user', subjectId: userId, grantedBy: 'system:HOSTLOCK_ADMINS' })
      .onConflictDoNothing()
      .returning({ id: roleBindings.id });
    if (added.length) {
      await appendAudit(db, {
        actor: 'system:HOSTLOCK_ADMINS',
        action: 'role.granted',
        targetType: 'user',
        targetId: userId,
        outcome: 'ok',
        details: { role: 'admin' },
      });
      log.info({ userId, role: 'admin' }, 'roles.bootstrap_granted');
    }
  }
}

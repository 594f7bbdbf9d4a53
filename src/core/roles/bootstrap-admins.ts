import type { Store } from '../store.js';

const BOOTSTRAP = 'system:HOSTLOCK_ADMINS';

/**
 * HOSTLOCK_ADMINS: grants `admin` to each listed user at start, so a fresh install has someone who
 * can open the settings modal. Existing bindings are kept; nothing is ever revoked from here.
 * Returns the users newly granted.
 */
export async function bootstrapAdmins(deps: { store: Store }, userIds: readonly string[]): Promise<string[]> {
  const granted: string[] = [];
  for (const userId of userIds) {
    const added = await deps.store.transaction(async (tx) => {
      if (!(await tx.roles.add({ role: 'admin', subjectType: 'user', subjectId: userId }, BOOTSTRAP))) {
        return false;
      }
      await tx.audit.append({
        actor: BOOTSTRAP,
        action: 'role.granted',
        targetType: 'user',
        targetId: userId,
        outcome: 'ok',
        details: { role: 'admin' },
      });
      return true;
    });
    if (added) {
      granted.push(userId);
    }
  }
  return granted;
}

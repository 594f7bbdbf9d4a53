import type { Store } from '../store.js';

const BOOTSTRAP = 'system:HOSTLOCK_ADMINS';

/**
 * HOSTLOCK_ADMINS: grants `admin` to each listed user at start, but only while nobody holds
 * `admin` (a fresh install, or every admin removed): a revocation made in Slack is never undone by
 * a restart (issue #14, finding 10). Returns the users granted, or 'admins_exist' when it did nothing.
 */
export async function bootstrapAdmins(
  deps: { store: Store },
  userIds: readonly string[],
): Promise<string[] | 'admins_exist'> {
  if (userIds.length === 0) {
    return [];
  }
  if ((await deps.store.roles.list()).some((b) => b.role === 'admin')) {
    return 'admins_exist';
  }
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

import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can, type Role } from '../permissions.js';
import type { Store } from '../store.js';
import { ROLES_PERMISSION } from './grant-role.js';
import type { RoleBinding } from './ports.js';
import { recordDenial } from './record-denial.js';

/** The role whose last binding may not be removed: without it nobody could manage hostlock. */
export const GUARDED_ROLE: Role = 'admin';

/**
 * Removes a role binding (`settings:edit`) with its `role.revoked` audit row, in one transaction.
 * 'unchanged' when there was no such binding; `last_admin` (nothing written) when it is the only
 * `admin` binding left. The admins are locked first, so two admins revoking each other at once
 * cannot both succeed: the second waits, then counts what the first left.
 */
export async function revokeRole(
  deps: { store: Store },
  input: { actor: Actor; binding: RoleBinding },
): Promise<Result<'revoked' | 'unchanged', 'forbidden' | 'last_admin'>> {
  if (!can(input.actor, ROLES_PERMISSION)) {
    await recordDenial(deps.store, {
      actor: input.actor,
      permission: ROLES_PERMISSION,
      what: 'roles revoke',
    });
    return err('forbidden');
  }
  const by = actorId(input.actor);
  const { binding: b } = input;
  return deps.store.transaction(async (tx) => {
    if (b.role === GUARDED_ROLE) {
      const holders = await tx.roles.lockHolders(GUARDED_ROLE);
      const others = holders.filter((id) => id !== b.subjectId);
      if (holders.length > others.length && others.length === 0) {
        return err('last_admin' as const);
      }
    }
    if (!(await tx.roles.remove(b))) {
      return ok('unchanged' as const);
    }
    await tx.audit.append({
      actor: by,
      action: 'role.revoked',
      targetType: b.subjectType,
      targetId: b.subjectId,
      outcome: 'ok',
      details: { role: b.role },
    });
    return ok('revoked' as const);
  });
}

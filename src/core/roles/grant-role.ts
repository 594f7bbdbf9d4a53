import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import type { Store } from '../store.js';
import type { RoleBinding } from './ports.js';
import { recordDenial } from './record-denial.js';

/** Changing who holds which role needs this permission. */
export const ROLES_PERMISSION = 'settings:edit' as const;

/**
 * Binds a role to a user or user group (`settings:edit`). The binding and its `role.granted`
 * audit row are written in one transaction. 'unchanged' when it already existed (nothing written).
 */
export async function grantRole(
  deps: { store: Store },
  input: { actor: Actor; binding: RoleBinding },
): Promise<Result<'granted' | 'unchanged', 'forbidden'>> {
  if (!can(input.actor, ROLES_PERMISSION)) {
    await recordDenial(deps.store, { actor: input.actor, permission: ROLES_PERMISSION, what: 'roles grant' });
    return err('forbidden');
  }
  const by = actorId(input.actor);
  const { binding: b } = input;
  return deps.store.transaction(async (tx) => {
    if (!(await tx.roles.add(b, by))) {
      return ok('unchanged' as const);
    }
    await tx.audit.append({
      actor: by,
      action: 'role.granted',
      targetType: b.subjectType,
      targetId: b.subjectId,
      outcome: 'ok',
      details: { role: b.role },
    });
    return ok('granted' as const);
  });
}

import { err, ok, type Result } from '../errors.js';
import { type Actor, can } from '../permissions.js';
import type { Store } from '../store.js';
import type { RoleBinding } from './ports.js';
import { recordDenial } from './record-denial.js';

/** Every role binding, for `/hostlock roles` (`settings:view` or `settings:edit`). */
export async function listRoles(
  deps: { store: Store },
  input: { actor: Actor },
): Promise<Result<RoleBinding[], 'forbidden'>> {
  if (!can(input.actor, 'settings:view') && !can(input.actor, 'settings:edit')) {
    await recordDenial(deps.store, { actor: input.actor, permission: 'settings:view', what: 'roles list' });
    return err('forbidden');
  }
  return ok(await deps.store.roles.list());
}

import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Store } from '../store.js';

/**
 * Revokes the active token named `name` (`settings:edit`) with its `api_token.revoked` audit row,
 * in one transaction. The row stays (revoked) so audit rows naming `api:tok_…` still resolve.
 * `not_found` (nothing written) when no active token has that name.
 */
export async function revokeToken(
  deps: { store: Store },
  input: { actor: Actor; name: string },
): Promise<Result<{ id: string }, 'forbidden' | 'not_found'>> {
  if (!can(input.actor, 'settings:edit')) {
    await recordDenial(deps.store, { actor: input.actor, permission: 'settings:edit', what: 'token revoke' });
    return err('forbidden');
  }
  const name = input.name.toLowerCase();
  const by = actorId(input.actor);
  return deps.store.transaction(async (tx) => {
    const row = await tx.tokens.revoke(name);
    if (!row) {
      return err('not_found' as const);
    }
    await tx.audit.append({
      actor: by,
      action: 'api_token.revoked',
      targetType: 'api_token',
      targetId: row.id,
      outcome: 'ok',
      details: { name, scopes: row.scopes },
    });
    return ok({ id: row.id });
  });
}

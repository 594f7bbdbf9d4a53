import { err, ok, type Result } from '../errors.js';
import { newId } from '../ids.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Store } from '../store.js';
import { type ApiScope, generateApiToken, isValidTokenName } from './tokens.js';

export type CreateTokenRefusal = 'forbidden' | 'bad_name' | 'no_scopes' | 'name_taken';

/**
 * Creates a REST API token (`settings:edit`): only its hash is stored, and the audit row
 * `api_token.created` names the token and its scopes, never the secret, in the same transaction.
 * Returns the id and the token, to be shown once; `name_taken` (nothing written) when an active
 * token already has that name (names are stored lower-case).
 */
export async function createToken(
  deps: { store: Store },
  input: { actor: Actor; name: string; scopes: readonly ApiScope[] },
): Promise<Result<{ id: string; name: string; token: string }, CreateTokenRefusal>> {
  if (!can(input.actor, 'settings:edit')) {
    await recordDenial(deps.store, { actor: input.actor, permission: 'settings:edit', what: 'token create' });
    return err('forbidden');
  }
  if (!isValidTokenName(input.name)) {
    return err('bad_name');
  }
  if (input.scopes.length === 0) {
    return err('no_scopes');
  }
  const name = input.name.toLowerCase();
  const scopes = [...new Set(input.scopes)];
  const by = actorId(input.actor);
  const { token, hash } = generateApiToken();
  const id = newId('tok');
  return deps.store.transaction(async (tx) => {
    if (!(await tx.tokens.insert({ id, name, hash, scopes, createdBy: by }))) {
      return err('name_taken' as const);
    }
    await tx.audit.append({
      actor: by,
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: id,
      outcome: 'ok',
      details: { name, scopes },
    });
    return ok({ id, name, token });
  });
}

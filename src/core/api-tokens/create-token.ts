import type { Clock } from '../clock.js';
import { err, ok, type Result } from '../errors.js';
import { newId } from '../ids.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Store } from '../store.js';
import { API_SCOPES, type ApiScope, generateApiToken, isValidTokenName } from './tokens.js';

export type CreateTokenRefusal = 'forbidden' | 'bad_name' | 'no_scopes' | 'bad_lifetime' | 'name_taken';

/** Tokens are created (and keep working) under this permission of their creator. */
export const TOKEN_PERMISSION = 'settings:edit' as const;
/** A token's lifetime in days unless its creator picks another (1 to {@link MAX_TOKEN_DAYS}). */
export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;

/**
 * Creates a REST API token (a Slack person with `settings:edit`) that expires after `days` (default 90) and acts for
 * its creator while they keep `settings:edit`: only its hash is stored, and the audit row
 * `api_token.created` names the token and its scopes, never the secret, in the same transaction.
 * Returns the id and the token, to be shown once; `name_taken` (nothing written) when an active
 * token already has that name (names are stored lower-case).
 */
export async function createToken(
  deps: { store: Store; clock: Clock },
  input: { actor: Actor; name: string; scopes: readonly ApiScope[]; days?: number },
): Promise<Result<{ id: string; name: string; token: string; expiresAt: Date }, CreateTokenRefusal>> {
  // Only a person creates tokens: a token acts for its creator and stops when they lose
  // `settings:edit`, which a system actor or another token has no roles to lose.
  if (input.actor.kind !== 'slack' || !can(input.actor, TOKEN_PERMISSION)) {
    await recordDenial(deps.store, {
      actor: input.actor,
      permission: TOKEN_PERMISSION,
      what: 'token create',
    });
    return err('forbidden');
  }
  const days = input.days ?? DEFAULT_TOKEN_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
    return err('bad_lifetime');
  }
  if (!isValidTokenName(input.name)) {
    return err('bad_name');
  }
  if (input.scopes.length === 0) {
    return err('no_scopes');
  }
  const name = input.name.toLowerCase();
  const scopes = API_SCOPES.filter((s) => input.scopes.includes(s)); // contract order, no repeats
  const expiresAt = new Date(deps.clock.now().getTime() + days * 86_400_000);
  const by = actorId(input.actor);
  const { token, hash } = generateApiToken();
  const id = newId('tok');
  return deps.store.transaction(async (tx) => {
    if (!(await tx.tokens.insert({ id, name, hash, scopes, createdBy: by, expiresAt }))) {
      return err('name_taken' as const);
    }
    await tx.audit.append({
      actor: by,
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: id,
      outcome: 'ok',
      details: { name, scopes, expiresAt: expiresAt.toISOString() },
    });
    return ok({ id, name, token, expiresAt });
  });
}

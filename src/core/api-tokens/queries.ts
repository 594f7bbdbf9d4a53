import { err, ok, type Result } from '../errors.js';
import { type Actor, can, PERMISSIONS, type Permission } from '../permissions.js';
import type { People } from '../roles/ports.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Store } from '../store.js';
import { TOKEN_PERMISSION } from './create-token.js';
import type { ApiTokenSummary } from './ports.js';
import { type ApiScope, hashApiToken } from './tokens.js';

/** Active tokens by name, for `/hostlock token list` (`settings:edit`). */
export async function listTokens(
  deps: { store: Store },
  input: { actor: Actor },
): Promise<Result<ApiTokenSummary[], 'forbidden'>> {
  if (!can(input.actor, 'settings:edit')) {
    await recordDenial(deps.store, { actor: input.actor, permission: 'settings:edit', what: 'token list' });
    return err('forbidden');
  }
  return ok(await deps.store.tokens.listActive());
}

/** A request's caller, as core sees it: the token as an actor, and its scopes. */
export interface TokenCaller {
  actor: Extract<Actor, { kind: 'api' }>;
  tokenName: string;
  scopes: readonly ApiScope[];
}

/** Token scopes that are also permissions (`lockdown:view`, `lockdown:edit`) become the actor's permissions. */
function permissionsFor(scopes: readonly ApiScope[]): ReadonlySet<Permission> {
  return new Set(PERMISSIONS.filter((p) => (scopes as readonly string[]).includes(p)));
}

/** Why a token does not authenticate, for the log (the caller is told only that it does not). */
export type TokenRefusal = 'unknown_revoked_or_expired' | 'creator_lost_permission' | 'creator_not_a_person';

/**
 * The caller a token stands for, looked up by its hash (its last use recorded). A token acts for
 * the person who created it, and only while that person still holds `settings:edit`, the
 * permission tokens are created under: revoking someone's admin role disables their tokens, and a
 * token whose creator is not a Slack person never authenticates. The
 * token itself is never compared, stored or logged.
 */
export async function authenticateToken(
  deps: { store: Store; people: People },
  token: string,
): Promise<TokenCaller | TokenRefusal> {
  const found = await deps.store.tokens.useActive(hashApiToken(token));
  if (!found) {
    return 'unknown_revoked_or_expired';
  }
  const creator = await deps.people.permissionsOf(found.createdBy);
  if (creator === null) {
    // not a Slack person (e.g. a row written by hand): no roles to lose, so it never authenticates
    return 'creator_not_a_person';
  }
  if (!creator.has(TOKEN_PERMISSION)) {
    return 'creator_lost_permission';
  }
  return {
    actor: {
      kind: 'api',
      tokenId: found.id,
      createdBy: found.createdBy,
      permissions: permissionsFor(found.scopes),
    },
    tokenName: found.name,
    scopes: found.scopes,
  };
}

import { createToken } from '../../src/core/api-tokens/create-token.js';
import { revokeToken } from '../../src/core/api-tokens/revoke-token.js';
import type { ApiScope } from '../../src/core/api-tokens/tokens.js';
import { hashApiToken } from '../../src/core/api-tokens/tokens.js';
import { systemClock } from '../../src/core/clock.js';
import type { Actor } from '../../src/core/permissions.js';
import type { Store } from '../../src/core/store.js';

/**
 * A test's token creator: the Slack user `U0TOKENADMIN`, bound to the admin role in the database,
 * as after `/hostlock roles grant admin` (a token acts for a person and only while they keep
 * `settings:edit`). Creates and revokes tokens through the same verbs as `/hostlock token`.
 */
export const TOKEN_ADMIN = 'U0TOKENADMIN';
const admin = (): Actor => ({ kind: 'slack', userId: TOKEN_ADMIN, permissions: new Set(['settings:edit']) });

async function bindAdmin(store: Store): Promise<void> {
  await store.roles.add({ role: 'admin', subjectType: 'user', subjectId: TOKEN_ADMIN }, 'test');
}

/** A token made through `createToken`; 'name_taken' when an active one has the name. */
export async function createApiToken(
  store: Store,
  input: { name: string; scopes: readonly ApiScope[] },
): Promise<{ id: string; token: string } | 'name_taken'> {
  await bindAdmin(store);
  const r = await createToken(
    { store, clock: systemClock },
    { actor: admin(), name: input.name, scopes: input.scopes },
  );
  if (r.ok) {
    return { id: r.value.id, token: r.value.token };
  }
  if (r.error === 'name_taken') {
    return 'name_taken';
  }
  throw new Error(`createToken refused: ${r.error}`);
}

export async function revokeApiToken(
  store: Store,
  input: { name: string },
): Promise<'revoked' | 'not_found'> {
  const r = await revokeToken({ store }, { actor: admin(), name: input.name });
  return r.ok ? 'revoked' : 'not_found';
}

/** The active token a secret stands for (its last use recorded), as the API's authentication sees it. */
export async function findActiveToken(store: Store, token: string) {
  const found = await store.tokens.useActive(hashApiToken(token));
  return found ? { id: found.id, name: found.name, scopes: found.scopes } : null;
}

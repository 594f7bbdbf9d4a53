import { describe, expect, it } from 'vitest';
import { createToken } from '../../../src/core/api-tokens/create-token.js';
import { authenticateToken, listTokens } from '../../../src/core/api-tokens/queries.js';
import { revokeToken } from '../../../src/core/api-tokens/revoke-token.js';
import { hashApiToken } from '../../../src/core/api-tokens/tokens.js';
import { memoryStore } from '../../helpers/memory/store.js';
import { ADMIN, RESPONDER } from './actors.js';

describe('createToken', () => {
  it('stores only the hash, audits name and scopes without the secret, and returns the token once', async () => {
    const store = memoryStore();
    const r = await createToken({ store }, { actor: ADMIN, name: 'CI-Pipeline', scopes: ['lockdown:view'] });
    if (!r.ok) {
      throw new Error(r.error);
    }
    expect(r.value.name).toBe('ci-pipeline');
    expect(store.state.tokens).toMatchObject([{ name: 'ci-pipeline', hash: hashApiToken(r.value.token) }]);
    expect(JSON.stringify(store.state)).not.toContain(r.value.token);
    expect(store.state.audit).toMatchObject([
      { action: 'api_token.created', details: { name: 'ci-pipeline', scopes: ['lockdown:view'] } },
    ]);
  });

  it('refuses a second active token of the same name, and a responder', async () => {
    const store = memoryStore();
    await createToken({ store }, { actor: ADMIN, name: 'feed', scopes: ['scores:write'] });
    expect(
      await createToken({ store }, { actor: ADMIN, name: 'FEED', scopes: ['scores:write'] }),
    ).toMatchObject({
      ok: false,
      error: 'name_taken',
    });
    expect(
      await createToken({ store }, { actor: RESPONDER, name: 'mine', scopes: ['lockdown:edit'] }),
    ).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.tokens).toHaveLength(1);
  });

  it('refuses a name that is not one, or no scopes', async () => {
    const store = memoryStore();
    expect(
      await createToken({ store }, { actor: ADMIN, name: '-bad', scopes: ['lockdown:view'] }),
    ).toMatchObject({
      error: 'bad_name',
    });
    expect(await createToken({ store }, { actor: ADMIN, name: 'ok', scopes: [] })).toMatchObject({
      error: 'no_scopes',
    });
    expect(store.state.tokens).toEqual([]);
  });
});

describe('authenticateToken and revokeToken', () => {
  it('turns a token into an actor whose permissions are its scopes, until it is revoked', async () => {
    const store = memoryStore();
    const r = await createToken(
      { store },
      { actor: ADMIN, name: 'siem', scopes: ['lockdown:view', 'scores:write'] },
    );
    const token = r.ok ? r.value.token : '';
    const caller = await authenticateToken({ store }, token);
    expect(caller?.actor.kind).toBe('api');
    expect([...(caller?.actor.permissions ?? [])]).toEqual(['lockdown:view']);
    expect(caller?.scopes).toEqual(['lockdown:view', 'scores:write']);
    expect(await authenticateToken({ store }, `${token}x`)).toBeNull();

    expect(await revokeToken({ store }, { actor: RESPONDER, name: 'siem' })).toMatchObject({
      error: 'forbidden',
    });
    expect(await revokeToken({ store }, { actor: ADMIN, name: 'SIEM' })).toMatchObject({ ok: true });
    expect(await authenticateToken({ store }, token)).toBeNull();
    expect(await revokeToken({ store }, { actor: ADMIN, name: 'siem' })).toMatchObject({
      error: 'not_found',
    });
    expect(await listTokens({ store }, { actor: ADMIN })).toEqual({ ok: true, value: [] });
  });
});

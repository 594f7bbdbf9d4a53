import { describe, expect, it } from 'vitest';
import { createToken } from '../../../src/core/api-tokens/create-token.js';
import { authenticateToken, listTokens } from '../../../src/core/api-tokens/queries.js';
import { revokeToken } from '../../../src/core/api-tokens/revoke-token.js';
import { hashApiToken } from '../../../src/core/api-tokens/tokens.js';
import { memoryStore } from '../../helpers/memory/store.js';
import { ADMIN, RESPONDER } from './actors.js';

const clock = { now: () => new Date('2026-12-01T10:00:00Z') };
/** Everyone still holds what they held: the creator keeps settings:edit. */
const people = { permissionsOf: async () => ADMIN.permissions };

describe('createToken', () => {
  it('stores only the hash, audits name and scopes without the secret, and returns the token once', async () => {
    const store = memoryStore();
    const r = await createToken(
      { store, clock },
      { actor: ADMIN, name: 'CI-Pipeline', scopes: ['lockdown:view'] },
    );
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
    await createToken({ store, clock }, { actor: ADMIN, name: 'feed', scopes: ['scores:write'] });
    expect(
      await createToken({ store, clock }, { actor: ADMIN, name: 'FEED', scopes: ['scores:write'] }),
    ).toMatchObject({
      ok: false,
      error: 'name_taken',
    });
    expect(
      await createToken({ store, clock }, { actor: RESPONDER, name: 'mine', scopes: ['lockdown:edit'] }),
    ).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.tokens).toHaveLength(1);
  });

  it('refuses a creator that is not a Slack person, even one holding settings:edit', async () => {
    const store = memoryStore();
    const robot = { kind: 'system' as const, name: 'cron', permissions: ADMIN.permissions };
    expect(
      await createToken({ store, clock }, { actor: robot, name: 'bot', scopes: ['lockdown:edit'] }),
    ).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.tokens).toEqual([]);
  });

  it('refuses a name that is not one, or no scopes', async () => {
    const store = memoryStore();
    expect(
      await createToken({ store, clock }, { actor: ADMIN, name: '-bad', scopes: ['lockdown:view'] }),
    ).toMatchObject({
      error: 'bad_name',
    });
    expect(await createToken({ store, clock }, { actor: ADMIN, name: 'ok', scopes: [] })).toMatchObject({
      error: 'no_scopes',
    });
    expect(store.state.tokens).toEqual([]);
  });
});

describe('authenticateToken and revokeToken', () => {
  it('turns a token into an actor for its creator whose permissions are its scopes, until it is revoked', async () => {
    const store = memoryStore();
    const r = await createToken(
      { store, clock },
      { actor: ADMIN, name: 'siem', scopes: ['lockdown:view', 'scores:write'] },
    );
    const token = r.ok ? r.value.token : '';
    const caller = await authenticateToken({ store, people }, token);
    if (typeof caller === 'string') {
      throw new Error(caller);
    }
    expect(caller.actor).toMatchObject({ kind: 'api', createdBy: 'slack:U0ADMIN001' });
    expect([...caller.actor.permissions]).toEqual(['lockdown:view']);
    expect(caller.scopes).toEqual(['lockdown:view', 'scores:write']);
    expect(await authenticateToken({ store, people }, `${token}x`)).toBe('unknown_revoked_or_expired');

    expect(await revokeToken({ store }, { actor: RESPONDER, name: 'siem' })).toMatchObject({
      error: 'forbidden',
    });
    expect(await revokeToken({ store }, { actor: ADMIN, name: 'SIEM' })).toMatchObject({ ok: true });
    expect(await authenticateToken({ store, people }, token)).toBe('unknown_revoked_or_expired');
    expect(await revokeToken({ store }, { actor: ADMIN, name: 'siem' })).toMatchObject({
      error: 'not_found',
    });
    expect(await listTokens({ store }, { actor: ADMIN })).toEqual({ ok: true, value: [] });
  });

  it('stops a token when its time is up, and when its creator loses settings:edit', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const store = memoryStore({ now: () => now });
    const r = await createToken(
      { store, clock: { now: () => now } },
      { actor: ADMIN, name: 'short', scopes: ['lockdown:view'], days: 1 },
    );
    const token = r.ok ? r.value.token : '';
    const demoted = { permissionsOf: async () => RESPONDER.permissions };
    expect(await authenticateToken({ store, people: demoted }, token)).toBe('creator_lost_permission');
    expect(typeof (await authenticateToken({ store, people }, token))).toBe('object');
    // a creator with no roles to lose (not a Slack person) never authenticates
    const nobody = { permissionsOf: async () => null };
    expect(await authenticateToken({ store, people: nobody }, token)).toBe('creator_not_a_person');
    now = new Date('2026-12-02T10:00:01Z');
    expect(await authenticateToken({ store, people }, token)).toBe('unknown_revoked_or_expired');
    expect(
      await createToken(
        { store, clock },
        { actor: ADMIN, name: 'forever', scopes: ['lockdown:view'], days: 9999 },
      ),
    ).toMatchObject({ error: 'bad_lifetime' });
  });
});

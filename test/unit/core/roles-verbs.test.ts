import { describe, expect, it } from 'vitest';
import { bootstrapAdmins } from '../../../src/core/roles/bootstrap-admins.js';
import { grantRole } from '../../../src/core/roles/grant-role.js';
import { listRoles } from '../../../src/core/roles/queries.js';
import { revokeRole } from '../../../src/core/roles/revoke-role.js';
import { memoryStore } from '../../helpers/memory/store.js';
import { ADMIN, ADMIN2, ANALYST, NOBODY, RESPONDER } from './actors.js';

const binding = (role: 'admin' | 'responder' | 'analyst', subjectId: string) =>
  ({ role, subjectType: 'user', subjectId }) as const;

describe('grantRole', () => {
  it('binds the role and audits it in the same transaction; a second grant changes nothing', async () => {
    const store = memoryStore();
    expect(await grantRole({ store }, { actor: ADMIN, binding: binding('responder', 'U0NEW00001') })).toEqual(
      {
        ok: true,
        value: 'granted',
      },
    );
    expect(await grantRole({ store }, { actor: ADMIN, binding: binding('responder', 'U0NEW00001') })).toEqual(
      {
        ok: true,
        value: 'unchanged',
      },
    );
    expect(store.state.roles).toEqual([
      { ...binding('responder', 'U0NEW00001'), grantedBy: 'slack:U0ADMIN001' },
    ]);
    expect(store.state.audit).toEqual([
      {
        actor: 'slack:U0ADMIN001',
        action: 'role.granted',
        targetType: 'user',
        targetId: 'U0NEW00001',
        outcome: 'ok',
        details: { role: 'responder' },
      },
    ]);
  });

  it.each([
    ['a responder', RESPONDER],
    ['an analyst', ANALYST],
    ['a user without a role', NOBODY],
  ])('refuses %s, binds nothing and audits the refusal', async (_, actor) => {
    const store = memoryStore();
    const r = await grantRole({ store }, { actor, binding: binding('admin', 'U0EVIL0001') });
    expect(r).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.roles).toEqual([]);
    expect(store.state.audit).toMatchObject([
      {
        action: 'authz.denied',
        outcome: 'denied',
        details: { permission: 'settings:edit', what: 'roles grant' },
      },
    ]);
  });

  it('rolls the binding back when its audit row cannot be written', async () => {
    const store = memoryStore();
    store.audit.append = async () => {
      throw new Error('disk full');
    };
    await expect(
      grantRole({ store }, { actor: ADMIN, binding: binding('admin', 'U0NEW00002') }),
    ).rejects.toThrow('disk full');
    expect(store.state.roles).toEqual([]);
  });
});

describe('revokeRole', () => {
  it('refuses to remove the last admin binding, and allows it once another admin exists', async () => {
    const store = memoryStore();
    await bootstrapAdmins({ store }, ['U0ADMIN001']);
    const last = await revokeRole({ store }, { actor: ADMIN, binding: binding('admin', 'U0ADMIN001') });
    expect(last).toMatchObject({ ok: false, error: 'last_admin' });
    await grantRole({ store }, { actor: ADMIN, binding: binding('admin', 'U0ADMIN002') });
    const ok = await revokeRole({ store }, { actor: ADMIN2, binding: binding('admin', 'U0ADMIN001') });
    expect(ok).toEqual({ ok: true, value: 'revoked' });
    expect(store.state.audit.at(-1)).toMatchObject({ action: 'role.revoked', actor: 'slack:U0ADMIN002' });
  });

  it('says unchanged for a binding that does not exist and writes nothing', async () => {
    const store = memoryStore();
    expect(await revokeRole({ store }, { actor: ADMIN, binding: binding('analyst', 'U0X0000001') })).toEqual({
      ok: true,
      value: 'unchanged',
    });
    expect(store.state.audit).toEqual([]);
  });

  it('refuses a responder and changes nothing', async () => {
    const store = memoryStore();
    await bootstrapAdmins({ store }, ['U0ADMIN001', 'U0ADMIN002']);
    const r = await revokeRole({ store }, { actor: RESPONDER, binding: binding('admin', 'U0ADMIN001') });
    expect(r).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.roles).toHaveLength(2);
  });
});

describe('listRoles', () => {
  it('shows the bindings to an analyst and refuses a user without a role', async () => {
    const store = memoryStore();
    await bootstrapAdmins({ store }, ['U0ADMIN001']);
    expect(await listRoles({ store }, { actor: ANALYST })).toMatchObject({
      ok: true,
      value: [{ role: 'admin' }],
    });
    expect(await listRoles({ store }, { actor: NOBODY })).toMatchObject({ ok: false, error: 'forbidden' });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewrapSecrets, secretStore } from '../../src/db/repos/secrets.js';
import { createAesGcmBox, keyIdOf } from '../../src/secrets/aes-gcm-box.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const key = (k: Buffer) => ({ box: createAesGcmBox(k, keyIdOf(k)), keyId: keyIdOf(k) });

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());

describe('master key rotation', () => {
  it('re-seals every secret under the new key, all or nothing, and audits how many', async () => {
    const old = key(OLD);
    await secretStore(t.db, old.box, old.keyId).putAll(
      { mde_client_secret: 'MDE_CANARY~rotate', mde_tenant_id: 'tenant', mde_client_id: 'client' },
      'test',
    );
    // a value sealed under the old key but tampered with: the rotation must change nothing
    await t.sql`update secrets set sealed = sealed || 'x' where name = 'mde_client_id'`;
    await expect(rewrapSecrets(t.db, old, key(NEW))).rejects.toThrow();
    const still = await t.sql<{ key_id: string }[]>`select distinct key_id from secrets`;
    expect(still.map((r) => r.key_id)).toEqual([old.keyId]);

    await secretStore(t.db, old.box, old.keyId).putAll({ mde_client_id: 'client' }, 'test');
    expect(await rewrapSecrets(t.db, old, key(NEW))).toBe(3);
    const rows = await t.sql<{ key_id: string; sealed: string }[]>`select key_id, sealed from secrets`;
    expect(rows.every((r) => r.key_id === keyIdOf(NEW) && !r.sealed.includes('CANARY'))).toBe(true);
    const fresh = key(NEW);
    expect(await secretStore(t.db, fresh.box, fresh.keyId).getAll(['mde_client_secret'])).toEqual({
      mde_client_secret: 'MDE_CANARY~rotate',
    });
    await expect(secretStore(t.db, old.box, old.keyId).getAll(['mde_client_secret'])).rejects.toThrow(
      /unknown_key|key/,
    );
    const [a] = await t.sql<{ details: { count: number } }[]>`
      select details from audit_events where action = 'secrets.rewrapped'`;
    expect(a?.details.count).toBe(3);
    expect(await rewrapSecrets(t.db, old, key(NEW))).toBe(0); // a second start with both keys: nothing left
  });
});

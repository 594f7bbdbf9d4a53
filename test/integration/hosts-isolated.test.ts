import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostStore } from '../../src/db/repos/hosts.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { defenderMachine } from '../helpers/memory/lockdowns.js';

// The isolated-hosts query behind /hostlock list and GET …?include=outside: hosts isolated
// outside hostlock are chosen in SQL, before the limit, so many hostlock lockdowns cannot push
// them out of the answer.

let db: TestDatabase;
const id = (n: number) => n.toString(16).padStart(40, 'b');
const machine = (n: number, name: string) => defenderMachine({ machineId: id(n), name });

beforeAll(async () => {
  db = await createTestDatabase();
  const hosts = hostStore(db.db);
  await hosts.upsertMachines(
    [1, 2, 3].map((n) => machine(n, `a-${n}.contoso.com`)).concat(machine(9, 'z-outside.contoso.com')),
    new Date(),
  );
  await hosts.setIsolation([
    ...[1, 2, 3].map((n) => ({
      machineId: id(n),
      state: 'isolated_by_hostlock' as const,
      source: 'hostlock' as const,
      actionId: `a${n}`,
    })),
    { machineId: id(9), state: 'isolated_outside' as const, source: 'outside' as const, actionId: 'portal' },
  ]);
});
afterAll(() => db?.dispose());

describe('isolated hosts by source', () => {
  it('finds the host isolated outside hostlock even when hostlock’s own fill the limit', async () => {
    const hosts = hostStore(db.db);
    const any = await hosts.isolated(2);
    expect(any.hosts.map((h) => h.name)).toEqual(['a-1.contoso.com', 'a-2.contoso.com']); // by name
    const outside = await hosts.isolated(2, { source: 'outside' });
    expect(outside).toMatchObject({ total: 1, hosts: [{ name: 'z-outside.contoso.com' }] });
    expect((await hosts.isolated(10, { source: 'hostlock' })).total).toBe(3);
  });
});

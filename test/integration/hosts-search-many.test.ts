import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DefenderMachine } from '../../src/core/defender.js';
import { parseHostQuery } from '../../src/core/hosts/parse-host-query.js';
import { hostStore, nextPrefix } from '../../src/db/repos/hosts.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { defenderMachine } from '../helpers/memory/lockdowns.js';

// searchMany answers a batch of host queries (a score feed's request) in one statement; it must
// give, query for query, what `search` gives for each alone: the same hosts, order and total.

let db: TestDatabase;
const id = (n: number) => n.toString(16).padStart(40, 'c');
// names that stress the prefix range: shared prefixes, dots, `_` and `-`, upper case, a name that
// is a prefix of others, merged and vanished duplicates of a live name
const NAMES = [
  'web-01.contoso.com',
  'web-01.contoso.com',
  'WEB-010.contoso.com',
  'web-01',
  'web_01.corp',
  'web-1.contoso.com',
  'db-01.contoso.com',
  'db-01x.contoso.com',
  'db.contoso.com',
  'a',
  'ab',
  'abz',
  'ac',
];
const machine = (n: number, name: string, o: Partial<DefenderMachine> = {}) =>
  defenderMachine({
    machineId: id(n),
    name,
    ips: [`10.0.${n % 3}.${n % 5}`, `fd00::${n % 4}`],
    lastSeen: new Date(Date.UTC(2026, 11, 1, 0, n)),
    ...o,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  const hosts = hostStore(db.db);
  await hosts.upsertMachines(
    NAMES.map((name, n) => machine(n, name, n === 1 ? { mergedIntoMachineId: id(0) } : {})),
    new Date(),
  );
  await db.sql`update hosts set gone_at = now() where machine_id = ${id(3)}`;
});
afterAll(() => db?.dispose());

const typed = fc.oneof(
  fc.constantFrom(...NAMES, ...NAMES.map((n) => n.split('.')[0] ?? n)),
  fc.constantFrom('web', 'web-0', 'WEB-01', 'db', 'db-01.', 'a', 'b', 'web_', 'web%', 'zz'),
  fc.constantFrom('10.0.1.2', '10.0.0.0', 'fd00::3', '10.9.9.9'),
  fc.nat({ max: NAMES.length + 2 }).map(id),
);

describe('searchMany', () => {
  it('answers each query as search does, in the order asked', async () => {
    const hosts = hostStore(db.db);
    await fc.assert(
      fc.asyncProperty(
        fc.array(typed, { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (texts, limit) => {
          const queries = texts.flatMap((t) => {
            const q = parseHostQuery(t);
            return q.ok ? [q.query] : [];
          });
          const many = await hosts.searchMany(queries, limit);
          const one = await Promise.all(queries.map((q) => hosts.search(q, limit)));
          expect(many).toEqual(one.map(({ hosts, total }) => ({ hosts, total })));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is a prefix range: [prefix, nextPrefix) holds exactly the names that start with the prefix', () => {
    expect(nextPrefix('web-0')).toBe('web-1');
    expect(nextPrefix('ab')).toBe('ac');
    for (const name of ['ab', 'abz', 'ab.corp']) {
      expect(name >= 'ab' && name < nextPrefix('ab')).toBe(true);
    }
    expect('ac' < nextPrefix('ab')).toBe(false);
  });
});

describe('search', () => {
  it('brings each returned host’s open lockdown in the same statement, and no closed one', async () => {
    const hosts = hostStore(db.db);
    const trigger = { threat: 90, certainty: 80, privilege: 7, scoreId: 'sc_1' };
    await db.sql`insert into lockdowns (id, machine_id, host_name, state, duration_minutes, requested_by, source,
        locked_at, expires_at, trigger)
      values ('ld_open', ${id(5)}, 'web-1.contoso.com', 'active', 60, 'system:auto', 'auto',
             '2026-12-05T08:00:00Z', '2026-12-05T09:00:00Z', ${JSON.stringify(trigger)}::jsonb),
             ('ld_done', ${id(6)}, 'db-01.contoso.com', 'released', 60, 'slack:U1', 'manual', null, null, null)`;
    try {
      const web = await hosts.search({ kind: 'name', value: 'web-1' }, 5);
      expect(web.hosts.map((h) => h.machineId)).toEqual([id(5)]);
      expect(web.total).toBe(1);
      expect(web.lockdowns.get(id(5))).toEqual({
        id: 'ld_open',
        state: 'active',
        requestedBy: 'system:auto',
        approvedBy: null,
        lockedAt: new Date('2026-12-05T08:00:00Z'),
        expiresAt: new Date('2026-12-05T09:00:00Z'),
        durationMinutes: 60,
        trigger,
      });
      const db1 = await hosts.search({ kind: 'name', value: 'db-01' }, 5);
      expect(db1.hosts[0]?.machineId).toBe(id(6));
      expect(db1.lockdowns.size).toBe(0);
      expect((await hosts.search({ kind: 'name', value: 'web' }, 5)).total).toBe(6);
    } finally {
      await db.sql`delete from lockdowns`;
    }
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DefenderMachine } from '../../src/core/defender.js';
import { hostStore, ListingLost } from '../../src/db/repos/hosts.js';
import { storable } from '../../src/mde/schemas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { defenderMachine } from '../helpers/memory/lockdowns.js';

// An inventory run rewrites only the hosts whose facts changed (or that come back from gone): a
// re-sync of a steady fleet is reads. What it must still get right: every listed host's facts
// and freshness, and "gone" for exactly the hosts the run did not list.

let db: TestDatabase;
const id = (n: number) => n.toString(16).padStart(40, 'd');
const T = (minute: number) => new Date(Date.UTC(2026, 11, 5, 8, minute));

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.dispose());
beforeEach(async () => {
  await db.sql`truncate hosts, inventory_sync, inventory_seen`;
});

/** A run as syncHosts makes it, then recorded as successful as the hosts-sync job records it. */
async function run(
  machines: readonly DefenderMachine[],
  at: Date,
  batches: DefenderMachine[][] = [[...machines]],
) {
  const hosts = hostStore(db.db);
  const mark = await hosts.startListing();
  for (const b of batches) {
    await hosts.recordListed(b, at);
  }
  const counts = await hosts.markGone(at, mark);
  await db.sql`insert into inventory_sync (id, last_success_at) values (1, ${at.toISOString()})
    on conflict (id) do update set last_success_at = excluded.last_success_at`;
  return counts;
}

/** Each row's version (xmin changes on every write) and stored columns. */
async function rows() {
  const r = await db.sql<{ machine_id: string; xmin: string; synced_at: string; gone_at: string | null }[]>`
    select machine_id, xmin::text as xmin, synced_at::text, gone_at::text from hosts order by machine_id`;
  return new Map(
    r.map((x) => [
      x.machine_id,
      { xmin: x.xmin, synced_at: new Date(x.synced_at), gone_at: x.gone_at && new Date(x.gone_at) },
    ]),
  );
}

const web = defenderMachine({
  machineId: id(1),
  name: 'web-01',
  ips: ['10.0.0.1'],
  tags: ['prod'],
  lastSeen: new Date(Date.UTC(2026, 11, 4)),
});
const db1 = defenderMachine({ machineId: id(2), name: 'db-01', ips: ['10.0.0.2'] });

describe('recordListed', () => {
  it('leaves unchanged hosts unwritten; their freshness is the last successful run', async () => {
    expect(await run([web, db1], T(0))).toEqual({ gone: 0, listed: 2 });
    const first = await rows();
    expect(await run([web, db1], T(10))).toEqual({ gone: 0, listed: 2 });
    const second = await rows();
    for (const [machineId, row] of first) {
      expect(second.get(machineId)?.xmin).toBe(row.xmin); // not rewritten
      expect(second.get(machineId)?.synced_at).toEqual(T(0));
    }
    // what every reader sees: confirmed by the run at T(10)
    expect((await hostStore(db.db).get(web.machineId))?.syncedAt).toEqual(T(10));
    const found = await hostStore(db.db).search({ kind: 'name', value: 'web-01' }, 5);
    expect(found.hosts.map((h) => h.syncedAt)).toEqual([T(10)]);
  });

  it('rewrites exactly the hosts whose facts changed', async () => {
    await run([web, db1], T(0));
    const before = await rows();
    const moved = { ...web, ips: ['10.0.0.9'], lastSeen: new Date(Date.UTC(2026, 11, 5)) };
    await run([moved, db1], T(10));
    const after = await rows();
    expect(after.get(web.machineId)?.xmin).not.toBe(before.get(web.machineId)?.xmin);
    expect(after.get(web.machineId)?.synced_at).toEqual(T(10));
    expect(after.get(db1.machineId)?.xmin).toBe(before.get(db1.machineId)?.xmin);
    expect((await hostStore(db.db).get(web.machineId))?.ips).toEqual(['10.0.0.9']);
  });

  it('marks gone the hosts a run did not list, keeps their own freshness, and revives them unchanged', async () => {
    await run([web, db1], T(0));
    expect(await run([web], T(10))).toEqual({ gone: 1, listed: 1 });
    const gone = await hostStore(db.db).get(db1.machineId);
    expect(gone?.goneAt).toEqual(T(10));
    expect(gone?.syncedAt).toEqual(T(0)); // last confirmed at T(0), not by the run at T(10)
    // back with the very same facts: written again, no longer gone
    expect(await run([web, db1], T(20))).toEqual({ gone: 0, listed: 2 });
    const back = await hostStore(db.db).get(db1.machineId);
    expect(back?.goneAt).toBeNull();
    expect(back?.syncedAt).toEqual(T(20));
  });

  it('takes a batch twice, and a machine twice in one batch, as the listing may send them', async () => {
    const twice = [web, db1, { ...web }];
    expect(await run([web, db1], T(0), [twice, [db1, web]])).toEqual({ gone: 0, listed: 2 });
    expect(await run([web, db1], T(10), [twice, [db1, web]])).toEqual({ gone: 0, listed: 2 });
  });

  it('during a run, hosts not yet listed keep the previous run as their freshness, and are not gone', async () => {
    await run([web, db1], T(0));
    const hosts = hostStore(db.db);
    await hosts.startListing();
    await hosts.recordListed([web], T(10)); // and then Defender failed: no markGone, no success
    expect((await hosts.get(db1.machineId))?.syncedAt).toEqual(T(0));
    expect((await hosts.get(db1.machineId))?.goneAt).toBeNull();
  });

  it('a lookup refreshing a host during a run keeps it from being marked gone', async () => {
    await run([web, db1], T(0));
    const hosts = hostStore(db.db);
    const mark = await hosts.startListing();
    await hosts.recordListed([web], T(10));
    await hosts.upsertMachines([db1], T(11)); // a lookup read it from Defender meanwhile
    expect(await hosts.markGone(T(10), mark)).toEqual({ gone: 0, listed: 2 });
  });

  it.each([
    ['PostgreSQL restarted mid-run (the unlogged listing emptied)', () => db.sql`truncate inventory_seen`],
    ['another run started meanwhile', () => hostStore(db.db).startListing()],
  ])('marks nothing gone when the listing is not whole: %s', async (_, lose) => {
    await run([web, db1], T(0));
    const hosts = hostStore(db.db);
    const mark = await hosts.startListing();
    await hosts.recordListed([web], T(10));
    await lose();
    await hosts.recordListed([db1], T(10));
    await expect(hosts.markGone(T(10), mark)).rejects.toThrow(ListingLost);
    const gone = await db.sql`select machine_id from hosts where gone_at is not null`;
    expect(gone).toHaveLength(0);
  });

  it('keeps every fact as Defender sent it, hostile text included, across any sequence of runs', async () => {
    // any text PostgreSQL can store (readMachine makes Defender's text so: test/unit/mde-schemas)
    const text = fc.string({ maxLength: 12, unit: 'binary' }).map(storable);
    const machineAt = (n: number) =>
      fc.record({
        name: fc.oneof(
          fc.constantFrom(`host-${n}`, `HOST-${n}.corp`),
          text.filter((s) => s.length > 0),
        ),
        ips: fc.array(fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1', '{"x",}'), { maxLength: 3 }),
        tags: fc.array(text, { maxLength: 3 }),
        riskScore: fc.constantFrom('Low', 'High', null),
        lastSeen: fc.option(fc.integer({ min: 0, max: 3 }).map((d) => new Date(Date.UTC(2026, 11, d + 1)))),
        mergedIntoMachineId: fc.option(fc.constant(id(99))),
      });
    // each run: the fleet Defender lists (machine number → facts)
    const fleet = fc.dictionary(
      fc.integer({ min: 0, max: 5 }).map(String),
      fc.integer({ min: 0, max: 5 }).chain(machineAt),
      { maxKeys: 6 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fleet, { minLength: 1, maxLength: 4 }), async (runs) => {
        await db.sql`truncate hosts, inventory_sync, inventory_seen`;
        const everListed = new Set<string>();
        for (const [r, listed] of runs.entries()) {
          const at = T(r * 10);
          const before = await rows();
          const machines = Object.entries(listed).map(([n, facts]) =>
            defenderMachine({ machineId: id(Number(n)), ...facts }),
          );
          const keyOf = (machineId: string) =>
            String(Object.keys(listed).find((n) => id(Number(n)) === machineId));
          await run(machines, at);
          const after = await rows();
          const stored = hostStore(db.db);
          for (const m of machines) {
            everListed.add(m.machineId);
            const h = await stored.get(m.machineId);
            expect(h).toMatchObject({
              name: m.name,
              ips: m.ips,
              tags: m.tags,
              riskScore: m.riskScore,
              lastSeen: m.lastSeen,
              mergedIntoMachineId: m.mergedIntoMachineId,
              goneAt: null,
              syncedAt: at,
            });
            const was = before.get(m.machineId);
            const rewritten = after.get(m.machineId)?.xmin !== was?.xmin;
            // written only when new, back from gone, or changed
            if (was && !was.gone_at && rewritten) {
              const prev = runs[r - 1]?.[keyOf(m.machineId)];
              expect(prev, 'an unchanged host was rewritten').not.toEqual(listed[keyOf(m.machineId)]);
            }
          }
          for (const machineId of everListed) {
            if (!machines.some((m) => m.machineId === machineId)) {
              expect((await stored.get(machineId))?.goneAt).not.toBeNull();
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { mdeCallLedger } from '../../src/db/repos/mde-calls.js';
import { createCallBudget } from '../../src/mde/budget.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// Issue #15, item 8: the Defender budget is counted in PostgreSQL, so replicas together stay under
// Defender's limits. Three "replicas" here are three pools on one database, as three processes are.

let db: TestDatabase;
const pools: Array<ReturnType<typeof openDatabase>> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  for (let i = 0; i < 3; i++) {
    pools.push(openDatabase(db.url, { max: 4 }));
  }
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await db.dispose();
});

const calls = async () =>
  (await db.sql<{ n: number }[]>`select count(*)::int as n from mde_calls`)[0]?.n ?? 0;

describe('the Defender call ledger shared by every replica', () => {
  it('grants exactly the cap to 60 racing takes from three replicas, and says how long the rest wait', async () => {
    await db.sql`delete from mde_calls`;
    const ledgers = pools.map((p) => mdeCallLedger(p.db));
    const grants = await Promise.all(
      Array.from({ length: 60 }, (_, i) => ledgers[i % 3]?.take(1, { perMinute: 25, perHour: 1_000 })),
    );
    const taken = grants.filter((g) => g?.taken);
    const refused = grants.flatMap((g) => (g && !g.taken ? [g.retryInMs] : []));
    expect(taken).toHaveLength(25);
    expect(await calls()).toBe(25);
    expect(refused).toHaveLength(35);
    // the oldest of the 25 ages out of the (61 s) minute window: a wait of about a minute, no more
    expect(Math.min(...refused)).toBeGreaterThan(55_000);
    expect(Math.max(...refused)).toBeLessThanOrEqual(61_000);
  });

  it('keeps the hourly cap across replicas too', async () => {
    await db.sql`delete from mde_calls`;
    await db.sql`insert into mde_calls (at) select now() - interval '30 minutes' from generate_series(1, 9)`;
    const [a, b] = pools.map((p) => mdeCallLedger(p.db));
    expect(await a?.take(1, { perMinute: 90, perHour: 10 })).toMatchObject({ taken: true });
    const refused = await b?.take(1, { perMinute: 90, perHour: 10 });
    expect(refused).toMatchObject({ taken: false });
    // the oldest call (30 minutes old) leaves the hour window in about 30 minutes
    expect(refused && !refused.taken ? refused.retryInMs : 0).toBeGreaterThan(29 * 60_000);
  });

  it('gives back calls set aside and not made, and forgets calls over an hour old', async () => {
    await db.sql`delete from mde_calls`;
    await db.sql`insert into mde_calls (at) select now() - interval '61 minutes' from generate_series(1, 5)`;
    const ledger = mdeCallLedger(pools[0]?.db ?? db.db);
    const g = await ledger.take(3, { perMinute: 3, perHour: 3 });
    expect(g).toMatchObject({ taken: true });
    expect(await calls()).toBe(3); // the five old ones are gone
    await ledger.giveBack(g.taken ? g.ids : []);
    expect(await calls()).toBe(0);
  });

  it('holds every replica while Defender asked one of them to wait (429)', async () => {
    await db.sql`delete from mde_calls`;
    const [a, b] = pools.map((p) => mdeCallLedger(p.db));
    await a?.pauseUntil(Date.now() + 30_000);
    const g = await b?.take(1, { perMinute: 90, perHour: 1_400 });
    expect(g).toMatchObject({ taken: false });
    expect(g && !g.taken ? g.retryInMs : 0).toBeGreaterThan(25_000);
    await db.sql`update mde_budget set paused_until = null`;
  });

  it('serves a lockdown step from the reserve on one replica while lookups elsewhere spent the rest', async () => {
    await db.sql`delete from mde_calls`;
    const opts = { perMinute: 9, perHour: 1_000, reservedPerMinute: 3 } as const;
    const lookups = createCallBudget({ ...opts, ledger: mdeCallLedger(pools[0]?.db ?? db.db) });
    const steps = createCallBudget({ ...opts, ledger: mdeCallLedger(pools[1]?.db ?? db.db) });
    for (let i = 0; i < 6; i++) {
      await lookups.acquire('interactive');
    }
    // the unreserved share (6) is spent: the step still gets its 3 at once, and spends them
    // without waiting; a fourth call inside the step is refused at once, not waited for
    const made = await steps.withCalls('urgent', 3, async () => {
      await steps.acquire('urgent');
      await steps.acquire('urgent');
      await steps.acquire('urgent');
      return steps.acquire('urgent').then(
        () => 'waited',
        (e: Error) => e.name,
      );
    });
    expect(made).toBe('MdeBudgetSpentError');
    expect(await calls()).toBe(9);
  });

  it('does not let a replica frozen in the middle of a take hold everyone: others are told to retry', async () => {
    await db.sql`delete from mde_calls`;
    const frozen = await db.sql.reserve();
    try {
      await frozen`begin`;
      await frozen`select 1 from mde_budget where id = 1 for update`; // and then it stops
      const ledger = mdeCallLedger(pools[1]?.db ?? db.db);
      const started = Date.now();
      const g = await ledger.take(1, { perMinute: 90, perHour: 1_400 });
      expect(g).toEqual({ taken: false, retryInMs: 1_000 });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await frozen`rollback`.catch(() => {});
      frozen.release();
    }
  });

  it('never waits on the database to give back unspent calls after a step failed', async () => {
    // the give-back goes to a database that no longer answers (as in R7): it never settles
    const real = mdeCallLedger(pools[2]?.db ?? db.db);
    let givingBack = 0;
    const ledger = {
      ...real,
      giveBack: () => {
        givingBack += 1;
        return new Promise<void>(() => {});
      },
    };
    const budget = createCallBudget({ ledger });
    const failure = new Error('the connection died under the step');
    await expect(budget.withCalls('urgent', 3, () => Promise.reject(failure))).rejects.toBe(failure);
    expect(givingBack).toBe(1); // it was attempted, and the step's error did not wait for it
  });
});

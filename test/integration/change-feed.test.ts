import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CachedRead, cachedRead, listenForChanges } from '../../src/db/change-feed.js';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { roleRepo } from '../../src/db/repos/roles.js';
import { readSettings, writeSettings } from '../../src/db/repos/settings.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/harness.js';

// Settings and role bindings are cached in each process (issue #17). A change made by any writer,
// in any replica, must be seen everywhere within 1 s: a trigger notifies every commit, each
// process listens, and a lost notification is bounded by the cache's 1 s life.

let a: TestDatabase; // the replica that writes
let b: DatabaseHandle; // another replica, with its own pool and its own listening connection
let settingsB: CachedRead<Awaited<ReturnType<typeof readSettings>>>;
let bindingsB: CachedRead<unknown[]>;
let unlisten: () => Promise<void>;

beforeAll(async () => {
  a = await createTestDatabase();
  b = openDatabase(a.url, { max: 3 });
  // a long life: only the notifications can make B see a change within the test's bounds
  settingsB = cachedRead(() => readSettings(b.db), { ttlMs: 3_600_000 });
  bindingsB = cachedRead(() => roleRepo(b.db).list(), { ttlMs: 3_600_000 });
  unlisten = await listenForChanges(b.sql, { settings: settingsB, role_bindings: bindingsB });
});
afterAll(async () => {
  await unlisten?.();
  await b?.close();
  await a?.dispose();
});

/** Milliseconds until `check` holds, read through the caches (polling is not the sync: the notify is). */
async function msUntil(check: () => Promise<boolean>, what: string): Promise<number> {
  const started = performance.now();
  await until(async () => ((await check()) ? true : null), what, 5_000);
  return performance.now() - started;
}

describe('caches kept by change notifications', () => {
  it('a settings change by another replica is seen within 1 s', async () => {
    expect((await settingsB.get()).pollMinutes).not.toBe(42);
    await writeSettings(a.db, { poll_minutes: 42 }, 'test');
    const ms = await msUntil(
      async () => (await settingsB.get()).pollMinutes === 42,
      'B to see poll_minutes 42',
    );
    expect(ms).toBeLessThan(1_000);
  });

  it('a revoked role binding is gone from another replica within 1 s', async () => {
    const roles = roleRepo(a.db);
    const binding = { role: 'admin' as const, subjectType: 'user' as const, subjectId: 'U0REVOKED1' };
    await roles.add(binding, 'test');
    await msUntil(
      async () => JSON.stringify(await bindingsB.get()).includes('U0REVOKED1'),
      'B to see the new binding',
    );
    await roles.remove(binding);
    const ms = await msUntil(
      async () => !JSON.stringify(await bindingsB.get()).includes('U0REVOKED1'),
      'B to stop seeing the revoked binding',
    );
    expect(ms).toBeLessThan(1_000);
  });

  it('still hears changes after its listening connection was cut (it reconnects and forgets all)', async () => {
    const cut = await a.sql`select pg_terminate_backend(pid) from pg_stat_activity
      where query ilike 'listen%' and datname = current_database()`;
    expect(cut).toHaveLength(1);
    await writeSettings(a.db, { poll_minutes: 43 }, 'test');
    await msUntil(async () => (await settingsB.get()).pollMinutes === 43, 'B to see poll_minutes 43');
  });

  it('what it hands out cannot be changed by one caller for the others', async () => {
    const s = await settingsB.get();
    expect(() => {
      (s as { pollMinutes: number }).pollMinutes = 1;
    }).toThrow(TypeError);
    expect(() => (s.alertChannels as string[]).push('C0EVIL0001')).toThrow(TypeError);
  });
});

describe('cachedRead', () => {
  it('reads again once its life is over, without any notification', async () => {
    let now = 0;
    let reads = 0;
    const c = cachedRead(async () => ++reads, { ttlMs: 1_000, now: () => now });
    expect(await c.get()).toBe(1);
    now = 999;
    expect(await c.get()).toBe(1);
    now = 1_000;
    expect(await c.get()).toBe(2);
  });

  it('takes a clock stepped back for expiry, not for a longer life', async () => {
    let now = 10_000;
    let reads = 0;
    const c = cachedRead(async () => ++reads, { ttlMs: 1_000, now: () => now });
    expect(await c.get()).toBe(1);
    now = 5_000; // NTP stepped the clock back 5 s
    expect(await c.get()).toBe(2);
  });

  it('does not make callers wait on a read that hangs: it fails (closed) and the next caller reads again', async () => {
    let now = 0;
    let reads = 0;
    const c = cachedRead(
      () => {
        reads++;
        return reads === 1 ? new Promise<number>(() => {}) : Promise.resolve(reads);
      },
      { ttlMs: 1_000, timeoutMs: 50, now: () => now },
    );
    await expect(c.get()).rejects.toThrow(/longer than 50 ms/);
    expect(await c.get()).toBe(2);
    // nor on a read older than the cache's life, even one still going
    let resolveSlow: (v: number) => void = () => {};
    const slow = cachedRead(() => new Promise<number>((r) => (resolveSlow = r)), {
      ttlMs: 1_000,
      now: () => now,
    });
    void slow.get();
    const first = resolveSlow;
    now += 1_500;
    const later = slow.get(); // a new read, not the 1.5 s old one
    expect(resolveSlow).not.toBe(first);
    resolveSlow(7);
    first(1);
    expect(await later).toBe(7);
  });

  it('shares one read between concurrent callers, and never keeps a read that a change overtook', async () => {
    const pending: Array<(v: number) => void> = [];
    const c = cachedRead(() => new Promise<number>((r) => pending.push(r)), { ttlMs: 60_000 });
    const first = c.get();
    const second = c.get();
    expect(pending).toHaveLength(1); // one read for both
    c.invalidate(); // a change commits while that read is in flight
    const third = c.get(); // must not wait for (or get) the old read
    expect(pending).toHaveLength(2);
    pending[0]?.(1);
    pending[1]?.(2);
    expect([await first, await second, await third]).toEqual([1, 1, 2]);
    expect(await c.get()).toBe(2); // the overtaken read (1) was not kept
  });
});

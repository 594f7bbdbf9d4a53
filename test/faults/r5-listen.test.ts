import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHostlock } from '../helpers/process.js';
import { bootCluster, type Cluster, isAlive, seconds, seedActiveLockdown, until } from './helpers.js';

// R5 (reliability.md §9.2): the LISTEN connections are killed with pg_terminate_backend. NOTIFY is
// only a latency hint (§1.1): Agenda polls every processEvery (5 s), each process looks for due
// lockdowns every second and the outbox polls every second, so a release and its notification
// still happen within processEvery + a few seconds, and the listeners come back.

const PROCESS_EVERY_MS = 5_000;

let c: Cluster;
let h: RunningHostlock;

beforeAll(async () => {
  c = await bootCluster();
  h = await c.start();
});
afterAll(() => c?.close());

interface Listener {
  pid: number;
  application_name: string;
  query: string;
}

async function listeners(): Promise<Listener[]> {
  return c.db.sql<Listener[]>`
    select pid, application_name, query from pg_stat_activity
    where datname = current_database() and query ilike '%listen%' and pid <> pg_backend_pid()
    order by application_name, pid`;
}

describe('R5: the LISTEN connections are terminated', () => {
  it('still releases a due lockdown and delivers its notification, and listens again', async () => {
    const before = await until(async () => {
      const l = await listeners();
      const apps = new Set(l.map((x) => x.application_name));
      return apps.has('hostlock-jobs') && apps.has('hostlock') ? l : null;
    }, "the Agenda ('hostlock-jobs') and outbox ('hostlock') LISTEN connections");
    const killed = await c.db.sql<{ ok: boolean }[]>`
      select pg_terminate_backend(pid) as ok from pg_stat_activity
      where datname = current_database() and query ilike '%listen%' and pid <> pg_backend_pid()`;
    expect(killed.length).toBeGreaterThanOrEqual(2);
    const killedAt = Date.now();

    // a lockdown that falls due now, after the notifications are gone
    const id = 'lck_listenkill00000001';
    const { machineId } = await seedActiveLockdown(c, {
      name: 'listen-01.contoso.com',
      id,
      dueIn: '0 seconds',
    });
    const m = { id: machineId };
    const dueAt = Date.now();
    await until(async () => c.posts('unisolate', m.id) === 1, 'the release call', PROCESS_EVERY_MS + 5_000);
    const releasedMs = Date.now() - dueAt;
    c.mde.advanceActions();
    c.mde.advanceActions();
    await until(
      async () => {
        const [r] = await c.db.sql<{ state: string }[]>`select state from lockdowns where id = ${id}`;
        return r?.state === 'released';
      },
      'the lockdown released',
      PROCESS_EVERY_MS + 20_000, // + the 15 s between Defender status checks
      () => c.drive(),
    );
    const [event] = await c.db.sql<{ event_id: string }[]>`
      select event_id from outbox where event = 'lockdown.released' and payload::text like ${`%${id}%`}`;
    await until(
      async () => event && c.alertsByEvent().get(event.event_id) === 1,
      'the release notification in the alert channel',
      PROCESS_EVERY_MS + 5_000,
    );
    const deliveredMs = Date.now() - dueAt;

    // A trigger written without any NOTIFY: only Agenda's own polling can find it.
    const [job] = await c.db.sql<{ id: string }[]>`
      insert into agenda_jobs (name, data, next_run_at)
      values ('lockdown.advance', ${JSON.stringify({ lockdownId: id })}::jsonb, now()) returning id`;
    const jobAt = Date.now();
    await until(
      async () => (await c.db.sql`select 1 from agenda_jobs where id = ${job?.id ?? ''}`).length === 0,
      'Agenda to run a trigger it was not told about',
      PROCESS_EVERY_MS + 5_000,
    );
    const polledMs = Date.now() - jobAt;

    const after = await until(
      async () => {
        const l = (await listeners()).filter((x) => !before.some((b) => b.pid === x.pid));
        const apps = new Set(l.map((x) => x.application_name));
        return apps.has('hostlock-jobs') && apps.has('hostlock') ? l : null;
      },
      'both listeners back on new connections',
      30_000,
    );
    console.log(
      `R5 LISTEN killed (${before.map((b) => b.application_name).join(', ')}): release call ${seconds(releasedMs)} after due, ` +
        `notification delivered ${seconds(deliveredMs)} after due, an un-notified Agenda job ran after ${seconds(polledMs)}, listeners back (${after.map((a) => a.application_name).join(', ')}) ${seconds(Date.now() - killedAt)} after the kill; process alive ${isAlive(h)}`,
    );
    expect(isAlive(h)).toBe(true);
    expect(releasedMs).toBeLessThan(PROCESS_EVERY_MS + 5_000);
    expect(polledMs).toBeLessThan(PROCESS_EVERY_MS + 5_000);
    expect(c.posts('unisolate', m.id)).toBe(1);
  });
});

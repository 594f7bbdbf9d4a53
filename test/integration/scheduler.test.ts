import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/jobs/scheduler.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());

const log = createLogger({ level: 'error' });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('scheduler (Agenda on PostgreSQL)', () => {
  it('runs a job stored in the same database', async () => {
    const s = createScheduler({ databaseUrl: t.url, log, processEvery: '100 milliseconds' });
    const ran = deferred();
    s.agenda.define<{ n: number }>('test.echo', async (job) => {
      expect(job.attrs.data.n).toBe(7);
      ran.resolve();
    });
    await s.start();
    await s.agenda.now('test.echo', { n: 7 });
    await ran.promise;
    const rows = await t.sql`select name from agenda_jobs where name = 'test.echo'`;
    expect(rows).toHaveLength(1);
    await s.drain(5_000);
  });

  it('drain waits for a running job to finish before returning', async () => {
    const s = createScheduler({ databaseUrl: t.url, log, processEvery: '100 milliseconds' });
    const started = deferred();
    const release = deferred();
    const events: string[] = [];
    s.agenda.define('test.slow', async () => {
      events.push('job started');
      started.resolve();
      await release.promise;
      events.push('job finished');
    });
    await s.start();
    await s.agenda.now('test.slow', {});
    await started.promise;
    const drained = s.drain(10_000).then((r) => {
      events.push('drained');
      return r;
    });
    events.push('drain requested');
    release.resolve();
    const r = await drained;
    expect(events).toEqual(['job started', 'drain requested', 'job finished', 'drained']);
    expect(r).toEqual({ completed: 1, running: 0 });
  });

  it('drain gives up after its bound and leaves the job to another worker', async () => {
    const s = createScheduler({ databaseUrl: t.url, log, processEvery: '100 milliseconds' });
    const started = deferred();
    const never = deferred();
    s.agenda.define('test.stuck', async () => {
      started.resolve();
      await never.promise;
    });
    await s.start();
    await s.agenda.now('test.stuck', {});
    await started.promise;
    const r = await s.drain(200);
    expect(r.running).toBe(1);
    const [row] = await t.sql<
      { locked_at: Date | null }[]
    >`select locked_at from agenda_jobs where name = 'test.stuck'`;
    expect(row?.locked_at).not.toBeNull();
    never.resolve();
  });
});

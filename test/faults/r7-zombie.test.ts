import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MdeMachine, RecordedRequest } from '../fakes/mde-peer.js';
import type { RunningHostlock } from '../helpers/process.js';
import {
  ALICE,
  bootCluster,
  type Cluster,
  isAlive,
  lockdownOf,
  seconds,
  stopChild,
  until,
  untilLockdownState,
} from './helpers.js';

// R7 (reliability.md §9.2): a zombie worker. hostlock has no `attempt` fencing token: each lockdown
// step runs inside one transaction that holds the row's lock (`FOR UPDATE SKIP LOCKED`) across its
// Defender calls, and writes nothing outside it. So "another process takes over after the lock
// lifetime" cannot happen while the zombie's session lives: Agenda may hand its job to another
// worker, but that worker finds the row locked and leaves it (first test). The takeover happens
// only when PostgreSQL ends the zombie's session (idle_in_transaction_session_timeout, TCP
// keepalive, an admin): the transaction is rolled back, the other process adopts the isolation
// from Defender's machine actions, and the zombie's late writes fail with its dead transaction
// (second test). Either way Defender gets one isolate.

let c: Cluster;
let onRequest: ((r: RecordedRequest) => void) | undefined;

beforeAll(async () => {
  c = await bootCluster();
  // The peer records a request before it answers: stopping the caller here leaves the 201 unread.
  const requests = c.mde.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items: RecordedRequest[]) => {
    for (const r of items) {
      onRequest?.(r);
    }
    return push(...items);
  };
});
afterAll(() => c?.close());

/** Starts a process, has it isolate `m`, and SIGSTOPs it the moment its isolate POST arrives. */
async function zombieAtIsolate(m: MdeMachine): Promise<RunningHostlock> {
  const zombie = await c.start();
  let stopped = false;
  onRequest = (r) => {
    if (!stopped && r.method === 'POST' && r.path.endsWith(`/machines/${m.id}/isolate`)) {
      stopped = zombie.child.kill('SIGSTOP');
    }
  };
  const ack = await c
    .signer(zombie)
    .command({ text: `lock ${m.computerDnsName} 1h zombie drill`, userId: ALICE });
  expect(ack.status).toBe(200);
  await until(async () => stopped, 'the isolate POST (and the SIGSTOP)');
  onRequest = undefined;
  return zombie;
}

/**
 * Agenda's lock lifetime "passes" for every job the zombie holds, and waits until another worker
 * has reclaimed them (Agenda re-locks a job whose lock is older than its lifetime). Returns how many.
 */
async function lockLifetimePasses(): Promise<number> {
  const aged = await c.db.sql`
    update agenda_jobs set locked_at = now() - interval '1 hour' where locked_at is not null returning id`;
  await until(
    async () =>
      (await c.db.sql`select 1 from agenda_jobs where locked_at < now() - interval '30 minutes'`).length ===
      0,
    'the stale Agenda locks to be reclaimed',
    30_000,
  );
  return aged.length;
}

const busySkips = (h: RunningHostlock, id: string) =>
  h.logs.filter((l) => l.msg === 'lockdown.advanced' && l.lockdownId === id && l.state === 'busy').length;

describe('R7: a worker stopped (SIGSTOP) in the middle of a lockdown step', () => {
  it('holds the row lock while stopped, so the other process leaves the row alone; resumed, it finishes alone', async () => {
    const m = c.machine('zombie-01.contoso.com');
    const zombie = await zombieAtIsolate(m);
    const l = await until(async () => lockdownOf(c, m.id), 'the lockdown row');
    const other = await c.start();
    const stoppedAt = Date.now();
    const reclaimed = await lockLifetimePasses();
    // the other process tries, through its 1 s ticker and the reclaimed Agenda job, and skips
    await until(async () => busySkips(other, l.id) >= 5, 'the other process to meet the locked row', 30_000);
    const held = await lockdownOf(c, m.id);
    expect(held?.state).toBe('approved'); // the zombie's `isolating` is uncommitted
    expect(c.posts('isolate', m.id)).toBe(1);

    zombie.child.kill('SIGCONT');
    const resumedAt = Date.now();
    const done = await untilLockdownState(c, m.id, 'active');
    console.log(
      `R7 zombie keeps its session: stopped ${seconds(resumedAt - stoppedAt)}, Agenda jobs reclaimed past their lock lifetime ${reclaimed}, other process skipped the locked row ${busySkips(other, l.id)} times, ` +
        `isolate calls ${c.posts('isolate', m.id)}, active ${seconds(Date.now() - resumedAt)} after SIGCONT`,
    );
    expect(c.posts('isolate', m.id)).toBe(1);
    expect(done.mde_action_id).toBe(c.mde.actions.find((a) => a.machineId === m.id)?.id);
    expect(isAlive(zombie) && isAlive(other)).toBe(true);
    await Promise.all([stopChild(zombie), stopChild(other)]);
  });

  it('when the database ends the zombie session, the other process adopts the isolation and the zombie writes nothing', async () => {
    const m = c.machine('zombie-02.contoso.com');
    const zombie = await zombieAtIsolate(m);
    const l = await until(async () => lockdownOf(c, m.id), 'the lockdown row');
    const other = await c.start();
    await lockLifetimePasses();
    await until(async () => busySkips(other, l.id) >= 2, 'the other process to meet the locked row', 30_000);

    // What idle_in_transaction_session_timeout (or a dead TCP peer) would do to the zombie's session
    const [ended] = await c.db.sql<{ n: number }[]>`
      select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where datname = current_database() and state = 'idle in transaction'
        and state_change < now() - interval '1 second'`;
    expect(ended?.n).toBeGreaterThanOrEqual(1);
    const takenOverAt = Date.now();
    const adopted = await until(
      async () => (await lockdownOf(c, m.id))?.mde_action_id,
      'the other process to adopt the isolation',
    );
    const done = await untilLockdownState(c, m.id, 'active');
    const takeoverMs = Date.now() - takenOverAt;

    zombie.child.kill('SIGCONT');
    // the zombie reads its 201 and tries to save it in the transaction that no longer exists
    await until(
      async () => zombie.logs.some((x) => x.msg === 'lockdown.advance_failed' && x.lockdownId === l.id),
      'the zombie to fail its late write',
    );
    const after = await lockdownOf(c, m.id);
    const [locked] = await c.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events where target_id = ${l.id} and action = 'lockdown.locked'`;
    console.log(
      `R7 zombie session ended: other process adopted action ${adopted.slice(0, 8)}… and reached ${done.state} in ${seconds(takeoverMs)}, ` +
        `isolate calls ${c.posts('isolate', m.id)}, zombie's late write rejected, locked events ${locked?.n}`,
    );
    expect(c.posts('isolate', m.id)).toBe(1);
    expect(adopted).toBe(c.mde.actions.find((a) => a.machineId === m.id && a.type === 'Isolate')?.id);
    expect(after).toEqual(done);
    expect(locked?.n).toBe(1);
    expect(isAlive(other)).toBe(true);
    await Promise.all([stopChild(zombie), stopChild(other)]);
  });
});

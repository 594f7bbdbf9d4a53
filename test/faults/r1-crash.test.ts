import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrashPoint } from '../../src/core/faults.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import type { RunningHostlock } from '../helpers/process.js';
import {
  ALICE,
  bootCluster,
  type Cluster,
  CONVERGE_BOUND_MS,
  crashed,
  lockdownOf,
  seconds,
  stopChild,
  until,
  untilLockdownState,
} from './helpers.js';

// R1 (reliability.md §9.2): `kill -9` at each of six points. A process armed with
// HOSTLOCK_CRASH_AT kills itself exactly there; a fresh process on the same database must bring
// the lockdown to its right final state within lockLifetime + processEvery + 10 s, with no second
// isolate/unisolate POST at Defender and at most one duplicate alert (same event id) per crash.

let c: Cluster;

beforeAll(async () => {
  c = await bootCluster();
});
afterAll(() => c?.close());

async function lock(h: RunningHostlock, m: MdeMachine): Promise<void> {
  const r = await c.signer(h).command({ text: `lock ${m.computerDnsName} 1h crash drill`, userId: ALICE });
  expect(r.status).toBe(200);
}

interface Case {
  point: CrashPoint;
  label: string;
  /** drives the armed process to its crash point */
  arm(h: RunningHostlock, m: MdeMachine): Promise<void>;
  final: 'active' | 'released';
  unisolates: number;
}

const CASES: Case[] = [
  {
    point: 'after_approve_commit',
    label: '(a) after the commit to approved, before the isolate call',
    arm: (h, m) => lock(h, m),
    final: 'active',
    unisolates: 0,
  },
  {
    point: 'after_isolate_submit',
    label: '(b) after Defender answered 201, before the action id is saved',
    arm: (h, m) => lock(h, m),
    final: 'active',
    unisolates: 0,
  },
  {
    point: 'during_isolation_poll',
    label: '(c) while following the isolation',
    async arm(h, m) {
      await lock(h, m);
      await until(async () => (await lockdownOf(c, m.id))?.mde_action_id, 'the saved isolate action');
      // Defender is done: the poll that would commit `active` is the one that dies
      c.mde.advanceActions();
      c.mde.advanceActions();
      await c.db.sql`update lockdowns set next_check_at = now() where machine_id = ${m.id}`;
    },
    final: 'active',
    unisolates: 0,
  },
  {
    point: 'after_release_submit',
    label: '(d) during unlock, after the release was requested, before it is saved',
    async arm(h, m) {
      await lock(h, m);
      await untilLockdownState(c, m.id, 'active');
      const r = await c.signer(h).command({ text: `unlock ${m.computerDnsName} drill over`, userId: ALICE });
      expect(r.status).toBe(200);
    },
    final: 'released',
    unisolates: 1,
  },
  {
    point: 'after_outbox_commit',
    label: '(e) after an outbox row is committed, before it is sent',
    arm: (h, m) => lock(h, m),
    final: 'active',
    unisolates: 0,
  },
  {
    point: 'after_sink_send',
    label: '(f) after a sink send, before the row is marked delivered',
    arm: (h, m) => lock(h, m),
    final: 'active',
    unisolates: 0,
  },
];

describe('R1: kill -9 at each crash point, then a fresh process on the same database', () => {
  it.each(CASES.map((k) => [`${k.point}: ${k.label}`, k] as const))('%s', async (_, k) => {
    const m = c.machine(`crash-${k.point.replaceAll('_', '-')}.contoso.com`);
    const [before] = await c.db.sql<{ last: number }[]>`select coalesce(max(id), 0)::int as last from outbox`;
    const last = before?.last ?? 0;

    const victim = await c.start({ crashAt: k.point });
    await k.arm(victim, m);
    const killedAt = await crashed(victim, k.point);
    const atCrash = await lockdownOf(c, m.id);
    const postsAtCrash = { isolate: c.posts('isolate', m.id), unisolate: c.posts('unisolate', m.id) };

    // The dead process's outbox lease (60 s) runs out: what a restart would find after that time.
    await c.db
      .sql`update outbox set next_attempt_at = now() where delivered_at is null and next_attempt_at > now()`;
    const fresh = await c.start();
    const restartedAt = Date.now();
    const done = await untilLockdownState(c, m.id, k.final, CONVERGE_BOUND_MS);
    await until(
      async () => {
        const [r] = await c.db.sql<{ n: number }[]>`
          select count(*)::int as n from outbox where delivered_at is null`;
        return r?.n === 0;
      },
      'every notification delivered',
      CONVERGE_BOUND_MS,
    );
    const convergedMs = Date.now() - killedAt;

    const events = await c.db.sql<{ event_id: string; event: string }[]>`
      select event_id, event from outbox where id > ${last} and sink like 'slack:%' order by id`;
    const sent = c.alertsByEvent();
    const lost = events.filter((e) => !sent.get(e.event_id));
    const duplicates = events.reduce((n, e) => n + Math.max(0, (sent.get(e.event_id) ?? 0) - 1), 0);
    const isolates = c.posts('isolate', m.id);
    const unisolates = c.posts('unisolate', m.id);
    console.log(
      `R1 ${k.point}: at the crash the row was ${atCrash?.state ?? 'absent'} (isolate POSTs ${postsAtCrash.isolate}, unisolate ${postsAtCrash.unisolate}); ` +
        `isolate calls ${isolates}, unisolate calls ${unisolates}, alerts ${events.length} events, duplicates ${duplicates}, lost ${lost.length}; ` +
        `converged (${done.state}) in ${seconds(convergedMs)} after the kill, ${seconds(Date.now() - restartedAt)} after the restart`,
    );

    expect(done.state).toBe(k.final);
    expect(isolates).toBe(1);
    expect(unisolates).toBe(k.unisolates);
    expect(lost).toEqual([]);
    // a crash at a send (or while the outbox was mid-send) re-sends that one row, same event id
    expect(duplicates).toBeLessThanOrEqual(1);
    expect(convergedMs).toBeLessThan(CONVERGE_BOUND_MS);
    expect(fresh.child.exitCode).toBeNull();
    await stopChild(fresh);
  });
});

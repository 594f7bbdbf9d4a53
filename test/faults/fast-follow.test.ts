import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHostlock } from '../helpers/process.js';
import { ALICE, bootCluster, type Cluster, lockdownOf, seconds, until } from './helpers.js';

// Issue #15, item 2, in a real process with the production timing (15 s tracking cadence): a
// submitted action is followed at about 1 s, 2 s, 4 s …, so a host shows as locked within a couple
// of seconds of Defender reporting success, not up to 15 s later.

let c: Cluster;
let proc: RunningHostlock;

beforeAll(async () => {
  c = await bootCluster();
  proc = await c.start();
});
afterAll(() => c?.close());

describe('following Defender fast after a submit', () => {
  it('shows the host locked within ~2 s of Defender reporting success', async () => {
    const m = c.machine('quick-01.contoso.com');
    await until(async () => {
      const [r] = await c.db.sql`select 1 from hosts where machine_id = ${m.id}`;
      return r;
    }, 'the inventory sync');
    await c.signer(proc).command({ text: 'lock quick-01 1h', userId: ALICE });
    const sent = await until(async () => {
      const l = await lockdownOf(c, m.id);
      return l?.mde_action_id ? l : null;
    }, 'the isolate call');
    // Defender finishes the isolation now (Pending → InProgress → Succeeded)
    c.mde.advanceActions();
    c.mde.advanceActions();
    const succeededAt = Date.now();
    await until(
      async () => ((await lockdownOf(c, m.id))?.state === 'active' ? true : null),
      'the lockdown to be active',
      20_000,
    );
    const seen = Date.now() - succeededAt;
    const gets = c.mde.requests.filter(
      (r) => r.method === 'GET' && r.path === `/api/machineactions/${sent.mde_action_id}`,
    );
    console.log(`fast follow: locked ${seconds(seen)} after Defender's success; ${gets.length} status reads`);
    expect(seen).toBeLessThan(3_000);
  });
});

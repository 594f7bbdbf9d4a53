import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, finding 4: any analyst's lookups of unknown names spent the one Defender budget first
// come, first served, while a due release waited. Lockdown steps now spend a reserved,
// higher-priority share; lookups get a per-person quota (6 Defender lookups a minute), a one-minute
// negative cache, and a bounded wait (more are answered "busy" at once).

const ALICE = 'U0BUDALICE';
const SNOOP = 'U0BUDSNOOP';
let h: Harness;

beforeAll(async () => {
  // 30 calls a minute, 10 kept for lockdown steps (the budget unit test shows the reserve at work)
  h = await bootHarness({ defenderBudget: { perMinute: 30, perHour: 1_000, reservedPerMinute: 10 } });
  await h.grant('admin', ALICE);
  await h.grant('analyst', SNOOP);
  await h.configureDefender();
  await h.settings({ approval_required: false });
});
afterAll(() => h.close());

const lookupsSent = () =>
  h.mde.requests.filter((r) => r.method === 'GET' && /\/api\/machines$/.test(r.path)).length;

describe('a flood of lookups cannot hold up a release', () => {
  it('answers the flood from the inventory past the quota, and still releases on time', async () => {
    const m = h.mde.machine({ computerDnsName: 'due-01.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    await h.slash('lock due-01 1h', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /due-01/.test(allText(p.body)));
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    await until(async () => ((await lockdownStore(h.db.db).get(id))?.mdeActionId ? true : null), 'isolating');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(
      async () => ((await lockdownStore(h.db.db).get(id))?.state === 'active' ? true : null),
      'active',
    );

    const before = lookupsSent();
    for (let i = 0; i < 15; i++) {
      await h.slash(`lookup ghost-${i % 10}.contoso.com`, { as: SNOOP });
    }
    const ghostAnswers = () => h.slack.responses.map((p) => allText(p.body)).filter((t) => /ghost-/.test(t));
    const answers = await until(
      async () => (ghostAnswers().length >= 15 ? ghostAnswers() : null),
      'every answer',
    );
    expect(lookupsSent() - before).toBeLessThanOrEqual(6); // the quota, whatever the flood
    expect(answers.some((a) => /busy|looked up many hosts/.test(a))).toBe(true);

    // Lookups on every replica have spent the whole unreserved share of this minute (the budget
    // is counted in the database for all replicas): 20 of the 30 calls of this minute.
    await h.db.sql`
      insert into mde_calls (at)
      select now() from generate_series(1, 20 - (select count(*) from mde_calls where at > now() - interval '61 seconds'))`;
    const [spent] = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from mde_calls where at > now() - interval '61 seconds'`;
    expect(spent?.n).toBe(20);
    // the lockdown falls due now: its release is served from the reserve, at once
    await h.db.sql`update lockdowns set expires_at = now(), next_check_at = now() where id = ${id}`;
    await h.app.lockdownJobs.sweep();
    await until(
      async () => (h.mde.actions.some((a) => a.machineId === m.id && a.type === 'Unisolate') ? true : null),
      'the release call',
    );
  });

  it('does not ask Defender again for a name it just did not know', async () => {
    await h.db.sql`delete from mde_calls`; // a new minute: the budget is free again
    const before = lookupsSent();
    const answered = (n: number) =>
      h.slack.responses.filter((p) => /No host matches `nowhere-99/.test(allText(p.body))).length >= n;
    await h.slash('lookup nowhere-99.contoso.com', { as: ALICE });
    await until(async () => (answered(1) ? true : null), 'the first answer');
    const afterFirst = lookupsSent();
    expect(afterFirst - before).toBe(1);
    await h.slash('lookup nowhere-99.contoso.com', { as: ALICE });
    await until(async () => (answered(2) ? true : null), 'the second answer');
    expect(lookupsSent()).toBe(afterFirst);
  });

  it('lock requests for names the inventory does not know spend the requester’s lookup quota too', async () => {
    await h.db.sql`delete from mde_calls`; // a new minute
    // two tokens of the same person, used in turn: the quota is the person's, not each token's
    // (one token per quota would let an admin multiply it by minting tokens)
    const tokens = [];
    for (const name of ['name-sprayer', 'name-sprayer-2']) {
      const t = await createApiToken(h.app.store, { name, scopes: ['lockdown:edit'] });
      if (t === 'name_taken') {
        throw new Error('name taken');
      }
      tokens.push(t.token);
    }
    const before = lookupsSent();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[i % 2]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ host: `nosuch-${i}.contoso.com`, duration: '1h' }),
      });
      statuses.push(r.status);
      await r.body?.cancel();
    }
    expect(lookupsSent() - before).toBeLessThanOrEqual(6); // the person's quota, not one call per request
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(6); // "try again in a minute"
    expect(await h.db.sql`select 1 from lockdowns where host_name like 'nosuch-%'`).toHaveLength(0);
  });
});

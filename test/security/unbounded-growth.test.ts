import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobName } from '../../src/jobs/names.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, finding 6: every refused command wrote an audit row (any workspace member could loop
// one), scores were kept for ever, and slash commands had no rate limit. Identical refusals are now
// counted after the first row of a 10-minute window, received scores are deleted after
// `score_retention_days` (30 by default) by an hourly job, and each user gets 30 commands a minute.

let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
});
afterAll(() => h.close());

describe('nobody can grow hostlock’s tables or flood it from Slack', () => {
  it('audits the first of identical refusals and counts the rest', async () => {
    const LOOPER = 'U0LOOPER01';
    for (let i = 0; i < 20; i++) {
      expect(allText((await h.slash('list', { as: LOOPER })).json())).toMatch(/`lockdown:view`/);
    }
    const rows = await h.db.sql`
      select 1 from audit_events where action = 'authz.denied' and actor = ${`slack:${LOOPER}`}`;
    expect(rows).toHaveLength(1);
    const [counted] = await h.db.sql<{ n: number }[]>`select sum(count)::int as n from refusal_counts`;
    expect(counted?.n).toBeGreaterThanOrEqual(20);
  });

  it('slows a user who sends commands faster than 30 a minute, with a message saying so', async () => {
    const FLOODER = 'U0FLOODER1';
    const answers: string[] = [];
    for (let i = 0; i < 35; i++) {
      answers.push(allText((await h.slash('help', { as: FLOODER })).json()));
    }
    expect(answers.slice(0, 30).every((a) => !/faster than hostlock/.test(a))).toBe(true);
    expect(answers.slice(30).every((a) => /faster than hostlock takes them/.test(a))).toBe(true);
    // someone else is not slowed by it
    expect(allText((await h.slash('help', { as: 'U0BYSTANDR' })).json())).not.toMatch(/faster than/);
  });

  it('deletes scores received before the retention period, keeping newer ones', async () => {
    await h.settings({ score_retention_days: 30 });
    await h.db.sql`
      insert into host_scores (machine_id, threat, certainty, privilege, computed_at, received_at, submitted_by)
      values ('old', 1, 1, 1, now() - interval '40 days', now() - interval '40 days', 'api:tok_x'),
             ('new', 1, 1, 1, now(), now(), 'api:tok_x')`;
    await h.app.scheduler.agenda.now(JobName.scoresPrune);
    await until(
      async () =>
        (await h.db.sql`select 1 from host_scores where machine_id = 'old'`).length === 0 ? true : null,
      'the old score deleted',
    );
    expect(await h.db.sql`select 1 from host_scores where machine_id = 'new'`).toHaveLength(1);
    const [audit] = await h.db.sql<{ details: { deleted: number } }[]>`
      select details from audit_events where action = 'scores.pruned'`;
    expect(audit?.details.deleted).toBe(1);
  });
});

describe('refusals of a token', () => {
  it('counts a loop of refused calls on different ids under one route', async () => {
    const t = await createApiToken(h.app.store, { name: 'siem-feed', scopes: ['scores:write'] });
    const token = t === 'name_taken' ? '' : t.token;
    for (let i = 0; i < 15; i++) {
      const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host/random${i}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(403);
    }
    const rows = await h.db.sql`
      select 1 from audit_events where action = 'authz.denied' and details->>'rule' = 'missing_scope'`;
    expect(rows).toHaveLength(1);
  });

  it('refuses a token that has no expiry (older ones get one from the migration)', async () => {
    const t = await createApiToken(h.app.store, { name: 'ageless', scopes: ['lockdown:view'] });
    const token = t === 'name_taken' ? '' : t.token;
    await h.db.sql`update api_tokens set expires_at = null where name = 'ageless'`;
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
  });
});

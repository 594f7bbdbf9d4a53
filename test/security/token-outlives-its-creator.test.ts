import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, bootHarness, type Harness } from '../helpers/harness.js';

// Issue #14, finding 9: API tokens never expired and kept working after their creator lost admin.
// Tokens now expire (90 days unless `--days` says otherwise, shown in `token list`) and work only
// while their creator still holds settings:edit, the permission they were created under.

const ALICE = 'U0OUTALICE';
const CAROL = 'U0OUTCAROL';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ALICE);
  await h.grant('admin', CAROL);
});
afterAll(() => h.close());

async function create(as: string, text: string): Promise<string> {
  const r = await h.slash(`token create ${text}`, { as });
  const token = /hlk_[A-Za-z0-9_-]{43}/.exec(allText(r.json()))?.[0];
  if (!token) {
    throw new Error(allText(r.json()));
  }
  return token;
}

const list = (token: string) =>
  fetch(`${h.app.url}/api/v2.1/lockdown/host`, { headers: { authorization: `Bearer ${token}` } });

describe('a token does not outlive its creator’s rights or its time', () => {
  it('stops working when its creator loses admin, and works again if it is given back', async () => {
    const token = await create(ALICE, 'alice-siem lockdown:view');
    expect((await list(token)).status).toBe(200);
    const revoked = await h.slash(`roles revoke admin <@${ALICE}>`, { as: CAROL });
    expect(allText(revoked.json())).toMatch(/no longer has/);
    const refused = await list(token);
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(token);
    await h.slash(`roles grant admin <@${ALICE}>`, { as: CAROL });
    expect((await list(token)).status).toBe(200);
  });

  it('expires: 90 days by default, --days when given, refused afterwards, shown in token list', async () => {
    const token = await create(ALICE, 'short-lived lockdown:view --days 2');
    const [row] = await h.db.sql<{ days: number }[]>`
      select round(extract(epoch from expires_at - created_at) / 86400)::int as days
      from api_tokens where name = 'short-lived'`;
    expect(row?.days).toBe(2);
    await create(ALICE, 'default-life lockdown:view');
    const [dflt] = await h.db.sql<{ days: number }[]>`
      select round(extract(epoch from expires_at - created_at) / 86400)::int as days
      from api_tokens where name = 'default-life'`;
    expect(dflt?.days).toBe(90);
    expect(allText((await h.slash('token list', { as: ALICE })).json())).toMatch(/expires <!date/);

    await h.db.sql`update api_tokens set expires_at = now() - interval '1 second' where name = 'short-lived'`;
    expect((await list(token)).status).toBe(401);
    expect(allText((await h.slash('token list', { as: ALICE })).json())).toMatch(/\*expired\*/);
  });

  it('never authenticates a token whose creator is not a Slack person (no roles to lose)', async () => {
    // A token row re-attributed to a system actor (a restored backup, a hand-written row) would
    // otherwise skip the creator check for good: it is refused instead.
    const token = await create(ALICE, 'orphaned lockdown:view');
    expect((await list(token)).status).toBe(200);
    await h.db.sql`update api_tokens set created_by = 'system:import' where name = 'orphaned'`;
    expect((await list(token)).status).toBe(401);
  });

  it('refuses a lifetime beyond a year', async () => {
    const r = await h.slash('token create forever lockdown:view --days 5000', { as: ALICE });
    expect(allText(r.json())).toMatch(/--days a whole number from 1 to 365/);
    expect(await h.db.sql`select 1 from api_tokens where name = 'forever'`).toHaveLength(0);
  });
});

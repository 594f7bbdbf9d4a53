import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHarness, type Harness } from '../helpers/harness.js';
import { postScore } from '../helpers/scores.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, review L6: a token that may only write scores (a SIEM feed) was answered with the
// machine id each name resolved to and the id of the lockdown it opened, so whoever holds the feed's
// token could map names to machine ids and follow lockdowns it has no scope to read. The answer now
// names machines and lockdowns only to a token that also has `lockdown:view`.

let h: Harness;
const tokens = { feed: '', reader: '' };
const ids = { one: '', two: '' };

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  const one = h.mde.machine({ computerDnsName: 'feedleak-01.contoso.com' });
  const two = h.mde.machine({ computerDnsName: 'feedleak-02.contoso.com' });
  h.mde.addMachines([one, two]);
  ids.one = one.id;
  ids.two = two.id;
  await h.app.hostsSync.run();
  await h.settings({
    auto_enabled: true,
    auto_dry_run: false,
    approval_required: true,
    approver_channel: 'C0APPROVE1',
    threshold_threat: 50,
    threshold_certainty: 50,
    threshold_privilege: 1,
    thresholds_saved_at: new Date(Date.now() - 3_600_000).toISOString(),
  });
  for (const [key, scopes] of [
    ['feed', ['scores:write']],
    ['reader', ['scores:write', 'lockdown:view']],
  ] as const) {
    const t = await createApiToken(h.app.store, { name: `leak-${key}`, scopes });
    if (t === 'name_taken') {
      throw new Error('token name taken');
    }
    tokens[key] = t.token;
  }
});
afterAll(() => h.close());

const send = (token: string, host: string) => postScore(h, token, host);

describe('a scores-only token', () => {
  it('learns that its score was taken and what automation did, not which machine or lockdown', async () => {
    const r = await send(tokens.feed, 'feedleak-01');
    const [item] = r.results;
    expect(item).toMatchObject({ status: 'accepted', auto: { outcome: 'pending_approval' } });
    expect(item?.score_id).toBeTypeOf('number');
    expect(item?.machine_id).toBeUndefined();
    expect(item?.auto?.lockdown_id).toBeUndefined();
    const machineId = ids.one;
    expect(JSON.stringify(r)).not.toContain(machineId);
    // the lockdown was opened all the same
    const open = await h.db.sql`select id from lockdowns where machine_id = ${machineId}`;
    expect(open).toHaveLength(1);
    expect(JSON.stringify(r)).not.toContain(String(open[0]?.id));
  });

  it('while a token that may also read lockdowns is told both', async () => {
    const r = await send(tokens.reader, 'feedleak-02');
    const machineId = ids.two;
    expect(r.results[0]).toMatchObject({ status: 'accepted', machine_id: machineId });
    const [l] = await h.db.sql<{ id: string }[]>`select id from lockdowns where machine_id = ${machineId}`;
    expect(r.results[0]?.auto?.lockdown_id).toBe(l?.id);
  });
});

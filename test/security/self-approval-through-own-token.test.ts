import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { postScore } from '../helpers/scores.js';

// Issue #14, finding 2: self-approval was refused by comparing actor ids, and a REST request was
// recorded as `api:tok_…`, so an admin who requested through their own token approved it in Slack.
// A token now acts for the person who created it: the requester is that person for the two-person
// rule, the audit and the thread; the token is named beside (requested_via).

const ALICE = 'U0TOKALICE';
const BOB = 'U0TOKBOB01';
let h: Harness;
let aliceToken: string;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ALICE);
  await h.grant('responder', BOB);
  await h.configureDefender();
  await h.settings({ approval_required: true, approver_channel: APPROVER_CHANNEL });
  const made = await h.slash('token create alice-ci lockdown:edit lockdown:view', { as: ALICE });
  aliceToken = /hlk_[A-Za-z0-9_-]{43}/.exec(allText(made.json()))?.[0] ?? '';
  expect(aliceToken).not.toBe('');
});
afterAll(() => h.close());

async function requestThroughToken(host: string) {
  h.mde.addMachines([h.mde.machine({ computerDnsName: host, osPlatform: 'Windows11' })]);
  const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
    method: 'POST',
    headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host, duration: '1h', reason: 'suspicious' }),
  });
  expect(res.status).toBe(202);
  const body = (await res.json()) as { host_id: string; locked_by: string; locked_via: string };
  const l = await until(async () => {
    const row = await lockdownStore(h.db.db).get(body.host_id);
    return row?.approvalTs ? row : null;
  }, 'the approval request posted');
  return { body, l };
}

const click = (userId: string, id: string, ts: string) =>
  h.signer.blockAction({
    userId,
    actionId: ActionId.lockdownApprove,
    blockId: lockdownBlockId(id),
    value: id,
    channelId: APPROVER_CHANNEL,
    messageTs: ts,
  });

describe('an admin cannot approve what they requested through their own token', () => {
  it('records the token’s creator as the requester, and the token beside', async () => {
    const { body, l } = await requestThroughToken('selfie-01.contoso.com');
    expect(body.locked_by).toBe(`slack:${ALICE}`);
    expect(body.locked_via).toMatch(/^api:tok_/);
    expect(l.requestedBy).toBe(`slack:${ALICE}`);
    const root = h.slack.findMessage(APPROVER_CHANNEL, l.approvalTs ?? '');
    expect(allText(root)).toContain(`Requested by <@${ALICE}> through API token`);
    const [audit] = await h.db.sql<{ actor: string; details: { via?: string } }[]>`
      select actor, details from audit_events where action = 'lockdown.requested' and target_id = ${l.id}`;
    expect(audit).toMatchObject({ actor: `slack:${ALICE}`, details: { via: body.locked_via } });
  });

  it('refuses Alice’s click on Approve, audits it, and lets Bob approve', async () => {
    const { l } = await requestThroughToken('selfie-02.contoso.com');
    await click(ALICE, l.id, l.approvalTs ?? '');
    const refused = await h.slack.waitForResponse((p) => /your own/i.test(allText(p.body)));
    expect(allText(refused.body)).toMatch(/your own/i);
    expect((await lockdownStore(h.db.db).get(l.id))?.state).toBe('pending_approval');
    const denied = await h.db.sql`
      select 1 from audit_events
      where action = 'authz.denied' and target_id = ${l.id} and details->>'rule' = 'self_approval'`;
    expect(denied).toHaveLength(1);

    await click(BOB, l.id, l.approvalTs ?? '');
    await until(
      async () => ((await lockdownStore(h.db.db).get(l.id))?.state !== 'pending_approval' ? true : null),
      'Bob’s approval',
    );
    expect((await lockdownStore(h.db.db).get(l.id))?.approvedBy).toBe(`slack:${BOB}`);
  });
});

describe('an admin cannot approve what their own score feed triggered', () => {
  it('records who sent the scores, refuses their click on Approve, and lets Bob approve', async () => {
    const feed = await h.slash('token create alice-feed scores:write lockdown:view', { as: ALICE });
    const feedToken = /hlk_[A-Za-z0-9_-]{43}/.exec(allText(feed.json()))?.[0] ?? '';
    h.mde.addMachines([h.mde.machine({ computerDnsName: 'scored-01.contoso.com', osPlatform: 'Windows11' })]);
    await h.app.hostsSync.run();
    await h.settings({
      auto_enabled: true,
      auto_dry_run: false,
      threshold_threat: 50,
      threshold_certainty: 50,
      threshold_privilege: 1,
      thresholds_saved_at: new Date(Date.now() - 60_000).toISOString(),
    });
    const body = await postScore(h, feedToken, 'scored-01.contoso.com', {
      threat: 99,
      certainty: 99,
      privilege: 10,
    });
    expect(body.results[0]?.auto?.outcome).toBe('pending_approval');
    const id = body.results[0]?.auto?.lockdown_id ?? '';
    const l = await until(async () => {
      const row = await lockdownStore(h.db.db).get(id);
      return row?.approvalTs ? row : null;
    }, 'the automatic request posted');
    expect(l.requestedBy).toBe('system:auto');
    expect(l.trigger?.sentBy?.actor).toBe(`slack:${ALICE}`);
    await click(ALICE, l.id, l.approvalTs ?? '');
    await h.slack.waitForResponse((p) => /your own/i.test(allText(p.body)));
    expect((await lockdownStore(h.db.db).get(l.id))?.state).toBe('pending_approval');
    await click(BOB, l.id, l.approvalTs ?? '');
    await until(
      async () => ((await lockdownStore(h.db.db).get(l.id))?.approvedBy === `slack:${BOB}` ? true : null),
      'Bob’s approval',
    );
  });
});

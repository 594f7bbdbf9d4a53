import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #15, item 4: a request that needs approval is never left waiting where nobody sees it.
// Saving "approval required" without an approver channel is refused on that field; a request the
// bot cannot post to the approver channel (not a member) goes, with its buttons, to the alert
// channels, the requester is told, and the operators' readiness names the problem.

const ADMIN = 'U0ORPHADMN';
const ALICE = 'U0ORPHALIC';
const BOB = 'U0ORPHBOB1';
const LOCKED_OUT = 'C0NOTMEMBR'; // the bot was never invited
const ALERTS = 'C0ORPALRTS';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  h.slack.addChannel({ id: LOCKED_OUT, name: 'approvals-private', isPrivate: true, isMember: false });
  h.slack.addChannel({ id: ALERTS, name: 'sec-alerts', isMember: true });
  await h.configureDefender();
  await h.grant('admin', ADMIN);
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
});
afterAll(() => h.close());

const readiness = async () =>
  (await (await fetch(`${h.app.opsUrl}/readyz`)).json()) as {
    checks: { approvals: { ok: boolean; problem?: string } };
  };

describe('approvals that would be orphaned', () => {
  it('refuses to save "approval required" without an approver channel, on that field, changing nothing', async () => {
    const before = await readSettingsVersioned(h.db.db);
    const form = settingsForm();
    form.approver_channel = { value: { type: 'conversations_select', selected_conversation: null } };
    const r = await submitSettings(h, ADMIN, form);
    expect(r.response_action).toBe('errors');
    expect(r.errors?.approver_channel).toMatch(/Pick the channel where approvers decide/);
    expect((await readSettingsVersioned(h.db.db)).version).toBe(before.version);
  });

  it('on a fresh install (no approver channel, no alert channel) a REST request is refused, not left unseen', async () => {
    await h.settings({ approval_required: true, approver_channel: null, alert_channels: [] });
    const m = h.mde.machine({ computerDnsName: 'orphan-00.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    const t = await createApiToken(h.app.store, { name: 'fresh-feed', scopes: ['lockdown:edit'] });
    if (t === 'name_taken') {
      throw new Error('name taken');
    }
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'orphan-00', duration: '1h' }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'no_approver_channel' } });
    expect(await h.db.sql`select 1 from lockdowns where machine_id = ${m.id}`).toHaveLength(0);
  });

  it('a REST request the bot cannot post to the approvers goes to the alert channel with its buttons, and readiness says why', async () => {
    await h.settings({ approval_required: true, approver_channel: LOCKED_OUT, alert_channels: [ALERTS] });
    const m = h.mde.machine({ computerDnsName: 'orphan-01.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    const t = await createApiToken(h.app.store, { name: 'orphan-feed', scopes: ['lockdown:edit'] });
    if (t === 'name_taken') {
      throw new Error('name taken');
    }
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'orphan-01', duration: '1h', reason: 'edr alert' }),
    });
    expect(res.status).toBe(202);
    const { host_id: id } = (await res.json()) as { host_id: string };
    const root = h.slack
      .callsTo('chat.postMessage')
      .find(
        (c) =>
          c.args.channel === ALERTS && c.status === 200 && JSON.stringify(c.args.blocks ?? []).includes(id),
      );
    expect(root).toBeDefined();
    expect(JSON.stringify(root?.args.blocks)).toContain(ActionId.lockdownApprove);
    const [row] = await h.db.sql<{ approval_channel: string; approval_ts: string }[]>`
      select approval_channel, approval_ts from lockdowns where id = ${id}`;
    expect(row?.approval_channel).toBe(ALERTS);
    const ready = await readiness();
    expect(ready.checks.approvals.ok).toBe(false);
    expect(ready.checks.approvals.problem).toMatch(/not_in_channel/);

    // the buttons there work: Bob approves from the alert channel
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(id),
      value: id,
      channelId: ALERTS,
      messageTs: row?.approval_ts ?? '',
    });
    await until(async () => {
      const [after] = await h.db.sql<{ state: string }[]>`select state from lockdowns where id = ${id}`;
      return after?.state !== 'pending_approval' ? after : null;
    }, 'the approval from the alert channel');
    const [after] = await h.db.sql<{ state: string; approved_by: string }[]>`
      select state, approved_by from lockdowns where id = ${id}`;
    expect(after?.approved_by).toBe(`slack:${BOB}`);
  });

  it('a Slack requester is told at once, and the problem clears once a request reaches the approvers', async () => {
    const m = h.mde.machine({ computerDnsName: 'orphan-02.contoso.com', osPlatform: 'Windows11' });
    const n = h.mde.machine({ computerDnsName: 'orphan-03.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m, n]);
    await h.slash('lock orphan-02 1h', { as: ALICE });
    const told = await h.slack.waitForResponse((p) => /orphan-02/.test(allText(p.body)));
    expect(allText(told.body)).toMatch(
      /could not reach the approvers.*not_in_channel.*posted to <#C0ORPALRTS> instead/s,
    );

    h.slack.addChannel({ id: LOCKED_OUT, name: 'approvals-private', isPrivate: true, isMember: true }); // someone invited the bot
    await h.slash('lock orphan-03 1h', { as: ALICE });
    const fine = await h.slack.waitForResponse((p) => /orphan-03/.test(allText(p.body)));
    expect(allText(fine.body)).not.toMatch(/could not reach/);
    expect((await readiness()).checks.approvals.ok).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { ActionId, hostBlockId, lockdownBlockId } from '../../src/slack/ids.js';
import {
  APPROVER_CHANNEL,
  allText,
  bootHarness,
  type Harness,
  lockdownRow,
  until,
} from '../helpers/harness.js';
import { postScore } from '../helpers/scores.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #18, item 6: "containment enabled" off is lookup-only mode. Lock, approve and extend are
// refused with the reason, wherever they come from (slash command, card, buttons, REST, scores);
// the card offers no Lock; lookups and syncs work; a running lockdown still ends on time.

const ALICE = 'U0LOOKALIC'; // responder who asks
const BOB = 'U0LOOKBOB1'; // responder who approves
const ADMIN = 'U0LOOKADMN';
let h: Harness;
let editToken: string;
let feedToken: string;

const row = (id: string): Promise<Lockdown> => lockdownRow(h, id);
const isolations = () =>
  h.mde.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/isolate')).length;
const lockdownCount = async () => Number((await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n);

const machines = new Map<string, string>();
function machine(name: string) {
  const m = h.mde.machine({ computerDnsName: name, osPlatform: 'Windows11' });
  h.mde.addMachines([m]);
  machines.set(name, m.id);
  return m;
}

async function requested(host: string): Promise<Lockdown> {
  await h.slash(`lock ${host} 1h beacon`, { as: ALICE });
  const answer = await h.slack.waitForResponse(
    (p) => /Lockdown `lck_/.test(allText(p.body)) && allText(p.body).includes(`\`${host}`),
  );
  return row(/`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '');
}

const containment = (on: boolean) => h.settings({ containment_enabled: on });

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  await h.grant('admin', ADMIN);
  h.slack.addChannel({ id: 'C0LOOKALRT', name: 'soc-alerts', isMember: true });
  await h.settings({
    approval_required: true,
    approver_channel: APPROVER_CHANNEL,
    alert_channels: ['C0LOOKALRT'],
  });
  for (const name of ['lo-web-01', 'lo-web-02', 'lo-db-01', 'lo-auto-01']) {
    machine(`${name}.contoso.com`);
  }
  expect((await h.app.hostsSync.run()).status).toBe('ok');
  const edit = await createApiToken(h.app.store, {
    name: 'lo-edit',
    scopes: ['lockdown:view', 'lockdown:edit'],
  });
  const feed = await createApiToken(h.app.store, {
    name: 'lo-feed',
    scopes: ['scores:write', 'lockdown:view'],
  });
  if (edit === 'name_taken' || feed === 'name_taken') {
    throw new Error('token names taken');
  }
  editToken = edit.token;
  feedToken = feed.token;
});
afterAll(() => h.close());

describe('lookup-only mode (containment off)', () => {
  it('refuses /hostlock lock with the reason, changes nothing and calls nobody; lookups still answer', async () => {
    await containment(false);
    const [lockdowns, defender] = [await lockdownCount(), isolations()];
    await h.slash('lock lo-web-01 1h beacon', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /lookup-only mode/.test(allText(p.body)));
    expect(allText(answer.body)).toMatch(
      /Containment is off .* An admin can turn it on in `\/hostlock settings`/,
    );
    expect(await lockdownCount()).toBe(lockdowns);
    expect(isolations()).toBe(defender);
    // audited like any refused check: who tried, and what
    const denied = await h.db.sql<{ actor: string; details: { rule?: string; what?: string } }[]>`
      select actor, details from audit_events where action = 'authz.denied' and details->>'rule' = 'lookup_only'`;
    expect(denied).toContainEqual(
      expect.objectContaining({
        actor: `slack:${ALICE}`,
        details: expect.objectContaining({ what: 'lockdown.request' }),
      }),
    );
    // the card: no Lock control, Refresh still there
    const card = (await h.slash('lookup lo-web-01', { as: ALICE })).json();
    const text = JSON.stringify(card);
    expect(text).toContain('lo-web-01');
    expect(text).not.toContain(ActionId.hostLock);
    expect(text).toContain(ActionId.hostRefresh);
    expect((await h.app.hostsSync.run()).status).toBe('ok');
  });

  it('refuses a forged Lock pick from an old card, and a REST lock with 409', async () => {
    await containment(false);
    const lockdowns = await lockdownCount();
    const from = h.slack.responses.length;
    await h.signer.blockAction({
      userId: ALICE,
      actionId: ActionId.hostLock,
      blockId: hostBlockId(machines.get('lo-web-02.contoso.com') ?? ''),
      selectedOption: '4h',
      channelId: 'C0INCIDENT',
      messageTs: '1700000000.000100',
    });
    await until(
      async () => h.slack.responses.slice(from).find((p) => /lookup-only mode/.test(allText(p.body))) ?? null,
      'the refusal of the forged pick',
    );
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${editToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'lo-web-02.contoso.com', duration: '1h', reason: 'x' }),
    });
    expect(res.status).toBe(409);
    expect(JSON.stringify(await res.json())).toMatch(/lookup-only mode/);
    expect(await lockdownCount()).toBe(lockdowns);
  });

  it('refuses to approve a request made before it was turned off; a denial still closes it', async () => {
    await containment(true);
    const l = await requested('lo-db-01');
    await containment(false);
    const click = (userId: string, actionId: string) =>
      h.signer.blockAction({
        userId,
        actionId,
        blockId: lockdownBlockId(l.id),
        value: l.id,
        channelId: APPROVER_CHANNEL,
        messageTs: l.approvalTs ?? '',
      });
    const before = isolations();
    await click(BOB, ActionId.lockdownApprove);
    await h.slack.waitForResponse(
      (p) => /lookup-only mode/.test(allText(p.body)) && /stays open/.test(allText(p.body)),
    );
    expect((await row(l.id)).state).toBe('pending_approval');
    expect(isolations()).toBe(before);
    await click(BOB, ActionId.lockdownDeny);
    await until(async () => ((await row(l.id)).state === 'denied' ? true : null), 'the denial');
  });

  it('sends no isolation for a lockdown approved before it was turned off (waiting out a paused Defender)', async () => {
    await containment(true);
    const m = machine('lo-late-01.contoso.com');
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const l = await requested('lo-late-01'); // pending approval
    await h.settings({ mde_state: 'paused' });
    try {
      await h.signer.blockAction({
        userId: BOB,
        actionId: ActionId.lockdownApprove,
        blockId: lockdownBlockId(l.id),
        value: l.id,
        channelId: APPROVER_CHANNEL,
        messageTs: l.approvalTs ?? '',
      });
      await until(
        async () => ((await row(l.id)).state === 'approved' ? true : null),
        'approved, waiting for Defender',
      );
      await containment(false);
    } finally {
      await h.settings({ mde_state: 'enabled' });
    }
    // the engine's next look (whichever process sees Defender enabled first)
    const failed = await until(async () => {
      await h.db.sql`update lockdowns set next_check_at = now() where id = ${l.id} and state = 'approved'`;
      await h.app.lockdownJobs.sweep();
      const now = await row(l.id);
      return now.state === 'failed' ? now : null;
    }, 'failed');
    expect(failed.lastError).toMatch(/containment is off \(lookup-only mode\): nothing was sent to Defender/);
    expect(h.mde.requests.filter((r) => r.path.endsWith(`/machines/${m.id}/isolate`))).toHaveLength(0);
    await containment(true);
  });

  it('holds back an automatic lockdown, saying why', async () => {
    await h.settings({
      containment_enabled: false,
      auto_enabled: true,
      auto_dry_run: false,
      thresholds_saved_at: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const lockdowns = await lockdownCount();
    const answer = await postScore(h, feedToken, 'lo-auto-01.contoso.com');
    expect(answer.results[0]?.auto?.outcome).toBe('refused');
    expect(await lockdownCount()).toBe(lockdowns);
    const [audit] = await h.db.sql<{ details: { why: string } }[]>`
      select details from audit_events where action = 'auto.suppressed' order by id desc limit 1`;
    expect(audit?.details.why).toBe('lookup_only');
    const alert = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === 'C0LOOKALRT' && /would have locked/.test(String(c.args.text)),
      10_000,
    );
    expect(String(alert.args.text)).toMatch(
      /containment is off \(lookup-only mode\): would have locked for 4 h/,
    );
    await h.settings({ auto_enabled: false });
  });

  it('refuses Extend, and a running lockdown still ends on time; on again, locking works', async () => {
    await containment(true);
    await h.settings({ approval_required: false });
    const l = await requested('lo-web-01');
    await until(async () => ((await row(l.id)).mdeActionId ? true : null), 'the isolation request');
    h.mde.advanceActions();
    h.mde.advanceActions();
    const active = await until(
      async () => ((await row(l.id)).state === 'active' ? row(l.id) : null),
      'active',
    );
    await containment(false);
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownExtend,
      blockId: lockdownBlockId(l.id),
      selectedOption: '4h',
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    });
    await h.slack.waitForResponse(
      (p) => /lookup-only mode/.test(allText(p.body)) && /still ends on time/.test(allText(p.body)),
    );
    expect((await row(l.id)).expiresAt?.getTime()).toBe(active.expiresAt?.getTime());
    // its time comes: released through Defender as always
    await h.db.sql`update lockdowns set expires_at = now(), next_check_at = now() where id = ${l.id}`;
    await h.app.lockdownJobs.sweep();
    const unisolate = `/machines/${machines.get('lo-web-01.contoso.com')}/unisolate`;
    await until(
      async () =>
        h.mde.requests.some((r) => r.method === 'POST' && r.path.endsWith(unisolate)) ? true : null,
      'the release',
    );
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(async () => ((await row(l.id)).state === 'released' ? true : null), 'released');
    // on again: a lock goes through
    await containment(true);
    expect((await requested('lo-web-02')).state).toMatch(/approved|isolating/);
    await h.settings({ approval_required: true });
  });
});

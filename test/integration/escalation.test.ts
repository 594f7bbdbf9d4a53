import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { ActionId } from '../../src/slack/ids.js';
import {
  APPROVER_CHANNEL,
  allText,
  bootHarness,
  type Harness,
  lockdownRow,
  until,
} from '../helpers/harness.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';

// Issue #15, item 5: an undecided request is escalated once, after the configured minutes, to a
// channel (the request again, with its buttons) and / or a user group mention; then it expires as
// before. The escalation is in the thread, the alert channels and syslog (lockdown.escalated).

const ADMIN = 'U0ESCADMIN';
const ALICE = 'U0ESCALICE';
const ESCALATE = 'C0ESCALATE';
const ALERTS = 'C0ESCALRTS';
const ONCALL = 'S0ONCALLLD';
let h: Harness;

const row = (id: string): Promise<Lockdown> => lockdownRow(h, id);
/** `minutes` pass for one request: it was made that long ago, and the engine looks now. */
async function minutesPass(id: string, minutes: number) {
  await h.db
    .sql`update lockdowns set created_at = now() - make_interval(mins => ${minutes}), next_check_at = now()
    where id = ${id}`;
  await h.app.lockdownJobs.sweep();
}
const posted = (channel: string, re: RegExp) =>
  h.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.channel === channel && re.test(JSON.stringify(c.args)));

beforeAll(async () => {
  h = await bootHarness();
  h.slack.addChannel({ id: ESCALATE, name: 'oncall-leads', isMember: true });
  h.slack.addChannel({ id: ALERTS, name: 'sec-alerts', isMember: true });
  await h.configureDefender();
  await h.grant('admin', ADMIN);
  await h.grant('responder', ALICE);
});
afterAll(() => h.close());

describe('escalation settings', () => {
  it('are saved from the modal: minutes, a channel and a user group pasted as a mention', async () => {
    const form = settingsForm({
      escalate_after_minutes: '10',
      escalation_usergroup: `<!subteam^${ONCALL}|@oncall-leads>`,
    });
    form.escalation_channel = { value: { type: 'conversations_select', selected_conversation: ESCALATE } };
    const r = await submitSettings(h, ADMIN, form);
    expect(r.errors).toBeUndefined();
    const [s] = await h.db.sql<{ data: Record<string, unknown> }[]>`select data from settings where id = 1`;
    expect(s?.data).toMatchObject({
      escalate_after_minutes: 10,
      escalation_channel: ESCALATE,
      escalation_usergroup: ONCALL,
    });
  });

  it.each([
    [{ escalate_after_minutes: '30' }, 'escalate_after_minutes', /less than the approval timeout/],
    [
      { escalate_after_minutes: '5', escalation_usergroup: '@oncall' },
      'escalation_usergroup',
      /user group's id/,
    ],
  ])('refuses %o on %s', async (over, field, message) => {
    const form = settingsForm(over as Record<string, string>);
    const r = await submitSettings(h, ADMIN, form);
    expect(r.errors?.[field]).toMatch(message);
  });

  it('refuses an escalation that goes nowhere', async () => {
    const form = settingsForm({ escalate_after_minutes: '5', escalation_usergroup: '' });
    form.escalation_channel = { value: { type: 'conversations_select', selected_conversation: null } };
    const r = await submitSettings(h, ADMIN, form);
    expect(r.errors?.escalation_channel).toMatch(/channel or a user group/);
  });
});

describe('an undecided request', () => {
  it('is escalated once after 10 minutes — thread, escalation channel with buttons, alerts — then expires', async () => {
    await h.settings({
      approval_required: true,
      approver_channel: APPROVER_CHANNEL,
      approval_timeout_minutes: 30,
      escalate_after_minutes: 10,
      escalation_channel: ESCALATE,
      escalation_usergroup: ONCALL,
      alert_channels: [ALERTS],
    });
    const m = h.mde.machine({ computerDnsName: 'esc-01.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    await h.slash('lock esc-01 2h', { as: ALICE });
    const answer = await h.slack.waitForResponse(
      (p) => /Lockdown `lck_/.test(allText(p.body)) && /esc-01/.test(allText(p.body)),
    );
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const l = await until(async () => ((await row(id)).approvalTs ? row(id) : null), 'the approval post');

    await minutesPass(id, 9);
    // the step has looked (its next look is the escalation time, a minute on), and did not escalate
    await until(
      async () => ((await row(id)).nextCheckAt?.getTime() ?? 0) > Date.now() || null,
      'the look at 9 minutes',
    );
    expect((await row(id)).escalatedAt).toBeNull();
    await minutesPass(id, 11);
    // the sweep may meet the row held by this process's own timer: wait for the step, not the call
    await until(async () => ((await row(id)).escalatedAt ? true : null), 'the escalation');
    const thread = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && String(c.args.text).includes(`<!subteam^${ONCALL}>`),
    );
    expect(String(thread.args.text)).toMatch(/Nobody has decided yet on locking `esc-01\.contoso\.com`/);
    const again = posted(ESCALATE, new RegExp(ActionId.lockdownApprove.replace('.', '\\.')));
    expect(again).toHaveLength(1);
    await until(
      async () => (posted(ALERTS, /Lockdown request escalated/).length === 1 ? true : null),
      'the alert',
    );
    const [outbox] = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from outbox where event = 'lockdown.escalated' and payload->'lockdown'->>'id' = ${id}`;
    expect(outbox?.n).toBeGreaterThanOrEqual(1);

    // once only: the next look (it reschedules to the deadline) sends nothing more
    await minutesPass(id, 15);
    await until(
      async () => ((await row(id)).nextCheckAt?.getTime() ?? 0) > Date.now() + 60_000 || null,
      'the next look',
    );
    expect(posted(ESCALATE, new RegExp(ActionId.lockdownApprove.replace('.', '\\.')))).toHaveLength(1);
    const [events] = await h.db.sql<{ n: number }[]>`
      select count(distinct event_id)::int as n from outbox
      where event = 'lockdown.escalated' and payload->'lockdown'->>'id' = ${id}`;
    expect(events?.n).toBe(1);
    const mentions = h.slack
      .callsTo('chat.postMessage')
      .filter(
        (c) => c.args.thread_ts === l.approvalTs && String(c.args.text).includes(`<!subteam^${ONCALL}>`),
      );
    expect(mentions).toHaveLength(1);
    // then it expires as before
    await minutesPass(id, 31);
    await until(async () => ((await row(id)).state === 'approval_expired' ? true : null), 'the expiry');
  });

  it('is first looked at when it is to be escalated, not at its deadline (else it would expire unescalated)', async () => {
    h.mde.addMachines([
      h.mde.machine({ computerDnsName: 'esc-first-01.contoso.com', osPlatform: 'Windows11' }),
    ]);
    await h.slash('lock esc-first-01 1h', { as: ALICE });
    const answer = await h.slack.waitForResponse(
      (p) => /Lockdown `lck_/.test(allText(p.body)) && /esc-first-01/.test(allText(p.body)),
    );
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const l = await row(id);
    // escalate after 10 min of a 30-min timeout (the settings of the test above)
    // (created_at is the database's clock, the first look hostlock's: within a second of each other)
    expect(Math.abs((l.nextCheckAt?.getTime() ?? 0) - l.createdAt.getTime() - 10 * 60_000)).toBeLessThan(
      1_000,
    );
    // time passes by the engine's own schedule, without poking next_check_at
    await h.db.sql`update lockdowns set created_at = created_at - interval '10 minutes',
      next_check_at = next_check_at - interval '10 minutes' where id = ${id}`;
    await h.app.lockdownJobs.sweep();
    await until(async () => ((await row(id)).escalatedAt ? true : null), 'the escalation');
    expect((await row(id)).state).toBe('pending_approval');
  });

  it('a request of several hosts is escalated once, as one: its root again with every host, one mention', async () => {
    for (const name of ['esc-m-01', 'esc-m-02', 'esc-m-03']) {
      h.mde.addMachines([h.mde.machine({ computerDnsName: `${name}.contoso.com`, osPlatform: 'Windows11' })]);
    }
    await h.slash('lock esc-m-01 esc-m-02 esc-m-03 2h', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /Request `req_/.test(allText(p.body)));
    const requestId = /`(req_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const ids = (
      await h.db.sql<{ id: string }[]>`select id from lockdowns where request_id = ${requestId}`
    ).map((r) => r.id);
    expect(ids).toHaveLength(3);
    const before = posted(ESCALATE, /esc-m-0/).length;
    await h.db.sql`update lockdowns set created_at = now() - interval '11 minutes', next_check_at = now()
      where request_id = ${requestId}`;
    await h.app.lockdownJobs.sweep();
    await until(
      async () =>
        (
          await h.db.sql<{ n: number }[]>`select count(*)::int as n from lockdowns
          where request_id = ${requestId} and escalated_at is not null`
        )[0]?.n === 3 || null,
      'every host escalated',
    );
    await until(() => (posted(ESCALATE, /esc-m-0/).length > before ? true : null), 'the escalation post');
    // every host's own step has run by now: nothing more is posted
    await h.app.lockdownJobs.sweep();
    const again = posted(ESCALATE, /esc-m-0/).slice(before);
    expect(again).toHaveLength(1);
    const blocks = JSON.stringify(again[0]?.args.blocks);
    for (const name of ['esc-m-01', 'esc-m-02', 'esc-m-03']) {
      expect(blocks).toContain(`${name}.contoso.com`);
    }
    expect(blocks).toContain(`"value":"${requestId}"`);
    const [events] = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events where action = 'lockdown.escalated' and target_id = any(${ids})`;
    expect(events?.n).toBe(3); // one audit row per host, from one escalation
  });

  it('in lookup-only mode the escalated request offers Deny and Withdraw, never an Approve that would be refused', async () => {
    h.mde.addMachines([h.mde.machine({ computerDnsName: 'esc-lo-01.contoso.com', osPlatform: 'Windows11' })]);
    await h.slash('lock esc-lo-01 1h', { as: ALICE });
    const answer = await h.slack.waitForResponse(
      (p) => /Lockdown `lck_/.test(allText(p.body)) && /esc-lo-01/.test(allText(p.body)),
    );
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    await h.settings({ containment_enabled: false });
    try {
      await minutesPass(id, 11);
      await until(async () => ((await row(id)).escalatedAt ? true : null), 'the escalation');
      const repost = await until(
        () => posted(ESCALATE, /esc-lo-01/).find((c) => JSON.stringify(c.args.blocks ?? '').includes(id)),
        'the escalation post',
      );
      const blocks = JSON.stringify(repost.args.blocks);
      expect(blocks).toContain(ActionId.lockdownDeny);
      expect(blocks).toContain(ActionId.lockdownUnlock);
      expect(blocks).not.toContain(ActionId.lockdownApprove);
    } finally {
      await h.settings({ containment_enabled: true });
    }
  });
});

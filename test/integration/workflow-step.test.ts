import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { plain } from '../../src/slack/functions/lock-host.js';
import { ActionId, FunctionId, lockdownBlockId } from '../../src/slack/ids.js';
import type { OutputParameter } from '../fakes/slack/functions.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';

// Issue #18, item 3: the Workflow Builder step "Lock a host" (Slack custom step `lock_host`): a
// `function_executed` event with inputs host, duration, reason and the person's user_context; the
// same request as /hostlock lock, by that person; `functions.completeSuccess` with lockdown_id and
// state, or `functions.completeError` with the reason.

const ALICE = 'U0WFALICE1'; // responder
const BOB = 'U0WFBOB001'; // responder: builds workflows, approves
const DAVE = 'U0WFDAVE01'; // responder the workspace cannot DM
const CAROL = 'U0WFCAROL1'; // analyst: may not lock

let h: Harness;
let step: { title: string; input_parameters: unknown; output_parameters: Record<string, OutputParameter> };

/** Slack runs the step for the workflow's person; resolves with the execution once hostlock ended it. */
async function run(inputs: Record<string, unknown>, o: { eventId?: string } = {}) {
  const execution = h.slack.startFunction({
    callbackId: FunctionId.lockHost,
    outputParameters: step.output_parameters,
  });
  const ack = await h.signer.functionExecuted({
    execution,
    inputs,
    fn: step,
    ...(o.eventId ? { eventId: o.eventId } : {}),
  });
  expect(ack.status).toBe(200);
  const ended = await until(() => {
    const e = h.slack.execution(execution.id);
    return e && e.state !== 'running' ? e : null;
  }, `execution ${execution.id} to end`);
  return { ...ended, execution };
}

const person = (id: string) => ({ id, secret: 'c2VjcmV0LWZyb20tc2xhY2s=' });

beforeAll(async () => {
  const manifest = parse(await readFile(new URL('../../manifest.yml', import.meta.url), 'utf8')) as {
    functions: Record<string, typeof step>;
  };
  step = manifest.functions[FunctionId.lockHost] as typeof step;
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  for (const id of [ALICE, BOB, CAROL]) {
    h.slack.addUser({ id }); // a DM goes to a member of the workspace
  }
  await h.grant('analyst', CAROL);
  await h.settings({ approver_channel: APPROVER_CHANNEL });
  for (const name of ['wf-web-01', 'wf-web-02', 'wf-web-03', 'wf-web-04', 'wf-db-01']) {
    h.mde.addMachines([h.mde.machine({ computerDnsName: `${name}.contoso.com`, osPlatform: 'Windows11' })]);
  }
  expect((await h.app.hostsSync.run()).status).toBe('ok');
});
afterAll(() => h.close());

describe('Workflow Builder step: Lock a host', () => {
  it('requests the lockdown as the person who ran the workflow and completes with its id and state', async () => {
    const r = await run({
      host: 'wf-web-01.contoso.com',
      duration: '4h',
      reason: 'phishing click, from the IR workflow',
      user_context: person(ALICE),
    });
    expect(r.state, r.error).toBe('completed');
    expect(r.outputs).toMatchObject({ state: 'pending_approval' });
    const l = await lockdownStore(h.db.db).get(String(r.outputs?.lockdown_id));
    expect(l).toMatchObject({
      hostName: 'wf-web-01.contoso.com',
      requestedBy: `slack:${ALICE}`,
      durationMinutes: 240,
      reason: 'phishing click, from the IR workflow',
      source: 'manual',
      state: 'pending_approval',
    });
    // the row and the audit say it came through a workflow, and which run
    expect(l?.requestedVia).toMatch(/^workflow:Wx[A-Z0-9]+$/);
    const audit = await h.db.sql<{ details: { via?: string } }[]>`
      select details from audit_events where target_id = ${l?.id ?? ''} and action = 'lockdown.requested'`;
    expect(audit[0]?.details.via).toBe(l?.requestedVia);
    // nobody is asked yet: the person confirms first, in a DM that says what was asked in their name
    const toApprovers = () =>
      h.slack
        .callsTo('chat.postMessage')
        .filter(
          (c) =>
            c.args.channel === APPROVER_CHANNEL && JSON.stringify(c.args.blocks ?? '').includes(l?.id ?? '-'),
        );
    expect(toApprovers()).toHaveLength(0);
    const dm = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALICE && String(c.args.text).includes(l?.id ?? '-'),
    );
    expect(String(dm.args.text)).toMatch(/asks in your name to lock `wf-web-01\.contoso\.com` for 4 h/);
    expect(JSON.stringify(dm.args.blocks)).toContain(ActionId.lockdownConfirm);
    const click = (userId: string, actionId: string) =>
      h.signer.blockAction({
        userId,
        actionId,
        blockId: lockdownBlockId(l?.id ?? ''),
        value: l?.id ?? '',
        channelId: h.slack.dmChannelId(ALICE),
        messageTs: String(dm.response.ts ?? ''),
      });
    // the workflow's builder, an approver, cannot approve before the person confirms (a forged click)
    await click(BOB, ActionId.lockdownApprove);
    await h.slack.waitForResponse((p) => /has not confirmed it yet/.test(allText(p.body)));
    // nor confirm it in the person's stead
    await click(BOB, ActionId.lockdownConfirm);
    await h.slack.waitForResponse((p) => /Only the person the request was made for/.test(allText(p.body)));
    expect(await lockdownStore(h.db.db).get(l?.id ?? '')).toMatchObject({
      state: 'pending_approval',
      awaitingConfirmation: true,
    });
    // the person confirms (a double click confirms once): then, and only then, the approvers are asked
    await Promise.all([click(ALICE, ActionId.lockdownConfirm), click(ALICE, ActionId.lockdownConfirm)]);
    await until(() => (toApprovers().length ? true : null), 'the request posted to the approvers');
    await h.slack.waitForResponse((p) => /Confirmed: the request to lock/.test(allText(p.body)));
    expect(toApprovers()).toHaveLength(1);
    const root = JSON.stringify(toApprovers()[0]?.args.blocks);
    expect(root).toContain('lockdown.approve');
    expect(root).toContain('through a Workflow Builder step');
    const confirmed = await h.db.sql<{ actor: string }[]>`
      select actor from audit_events where target_id = ${l?.id ?? ''} and action = 'lockdown.confirmed'`;
    expect(confirmed.map((a) => a.actor)).toEqual([`slack:${ALICE}`]);
    // then the builder may decide it like any approver who is not the requester
    await click(BOB, ActionId.lockdownApprove);
    await until(
      async () => ((await lockdownStore(h.db.db).get(l?.id ?? ''))?.state === 'approved' ? true : null),
      'the approval',
    );
    // Bolt ended the step with the workflow's own token, not the bot token
    const done = h.slack.callsTo('functions.completeSuccess').at(-1);
    expect(done?.token).toBe(r.execution.token);
  });

  it('a request the person cannot be asked to confirm (no DM) is withdrawn, and the step fails saying so', async () => {
    // a responder Slack has no DM for (the peer does not know them): channel_not_found
    await h.grant('responder', DAVE);
    const r = await run({ host: 'wf-web-02.contoso.com', duration: '2h', user_context: person(DAVE) });
    expect(r.state).toBe('failed');
    expect(r.error).toMatch(/could not ask you to confirm/);
    const rows = await h.db.sql<{ state: string }[]>`
      select state from lockdowns where host_name = 'wf-web-02.contoso.com' and requested_via like 'workflow:%'`;
    expect(rows.map((x) => x.state)).toEqual(['withdrawn']);
  });

  it('a confirmation after the approval deadline is refused: nobody is asked, and the request expires', async () => {
    const r = await run({ host: 'wf-web-04.contoso.com', duration: '1h', user_context: person(ALICE) });
    const id = String(r.outputs?.lockdown_id);
    const dm = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALICE && String(c.args.text).includes(id),
    );
    // two hours pass: its deadline (and the engine's look at it) are behind us
    await h.db.sql`update lockdowns set created_at = created_at - interval '2 hours',
      next_check_at = next_check_at - interval '2 hours' where id = ${id}`;
    const from = h.slack.responses.length;
    await h.signer.blockAction({
      userId: ALICE,
      actionId: ActionId.lockdownConfirm,
      blockId: lockdownBlockId(id),
      value: id,
      channelId: h.slack.dmChannelId(ALICE),
      messageTs: String(dm.response.ts ?? ''),
    });
    const said = await h.slack.waitForResponse((p) => h.slack.responses.indexOf(p) >= from);
    expect(allText(said.body)).toMatch(/expired before you confirmed it/);
    expect(
      h.slack
        .callsTo('chat.postMessage')
        .filter(
          (c) => c.args.channel === APPROVER_CHANNEL && JSON.stringify(c.args.blocks ?? '').includes(id),
        ),
    ).toHaveLength(0);
    await until(
      async () => ((await lockdownStore(h.db.db).get(id))?.state === 'approval_expired' ? true : null),
      'the expiry',
    );
  });

  it('names a host in full: a prefix of a host’s name is refused, never taken for it', async () => {
    const r = await run({ host: 'wf-web', duration: '1h', user_context: person(ALICE) });
    expect(r.state).toBe('failed');
    expect(r.error).toMatch(/Several hosts match|named exactly that/);
    const one = await run({ host: 'wf-web-0', duration: '1h', user_context: person(ALICE) });
    expect(one.error).toMatch(/Several hosts match|named exactly that/);
    // a prefix that begins one host's name only: refused all the same, never taken for that host
    const only = await run({ host: 'wf-db', duration: '1h', user_context: person(ALICE) });
    expect(only.state).toBe('failed');
    expect(only.error).toMatch(/named exactly that/);
    const rows = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from lockdowns where host_name = 'wf-db-01.contoso.com'`;
    expect(rows[0]?.n).toBe(0);
  });

  it('a workflow run id that is not Slack’s shape is not written anywhere: the step’s own execution id stands in', async () => {
    const execution = h.slack.startFunction({
      callbackId: FunctionId.lockHost,
      outputParameters: step.output_parameters,
    });
    await h.signer.functionExecuted({
      execution,
      inputs: { host: 'wf-db-01.contoso.com', duration: '1h', user_context: person(ALICE) },
      fn: step,
      workflowExecutionId: 'Wx1` <!here> suser=root',
    });
    const ended = await until(() => {
      const e = h.slack.execution(execution.id);
      return e && e.state !== 'running' ? e : null;
    }, 'the execution to end');
    expect(ended.state, ended.error).toBe('completed');
    const l = await lockdownStore(h.db.db).get(String(ended.outputs?.lockdown_id));
    expect(l?.requestedVia).toBe(`workflow:${execution.id}`);
    const dm = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALICE && String(c.args.text).includes(l?.id ?? '-'),
    );
    expect(JSON.stringify(dm.args)).not.toContain('<!here>');
    await lockdownStore(h.db.db).transition(
      l?.id ?? '',
      'withdraw',
      { nextCheckAt: null },
      { actor: 'system:test' },
    );
  });

  it('always waits for an approver, even with approval off: a click on a workflow’s button need not have said it locks a host', async () => {
    await h.settings({ approval_required: false });
    try {
      const r = await run({ host: 'wf-web-02.contoso.com', duration: '1h', user_context: person(ALICE) });
      expect(r.state, r.error).toBe('completed');
      expect(r.outputs?.state).toBe('pending_approval');
      const l = await lockdownStore(h.db.db).get(String(r.outputs?.lockdown_id));
      expect(l).toMatchObject({ state: 'pending_approval', awaitingConfirmation: true });
      expect(
        h.mde.requests.filter(
          (q) => q.method === 'POST' && q.path.endsWith(`/machines/${l?.machineId}/isolate`),
        ),
      ).toHaveLength(0);
      await lockdownStore(h.db.db).transition(
        String(r.outputs?.lockdown_id),
        'withdraw',
        { nextCheckAt: null },
        { actor: 'system:test' },
      );
    } finally {
      await h.settings({ approval_required: true });
    }
  });

  it('writes refusals as plain text: mentions and channels by their label or id', () => {
    expect(plain('Ask <@U0ADMIN1> or <!subteam^S0LEADS|@leads> in <#C0OPS|ops>, `now`')).toBe(
      'Ask @U0ADMIN1 or @leads in ops, now',
    );
  });

  it('fails the step for a person without lockdown:edit, saying so, and locks nothing', async () => {
    const r = await run({ host: 'wf-web-02.contoso.com', duration: '1h', user_context: person(CAROL) });
    expect(r.state).toBe('failed');
    expect(r.error).toMatch(/lockdown:edit/);
    expect(r.error).not.toMatch(/`/); // plain text: the workflow's activity shows no markup
    const rows = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from lockdowns where requested_by = ${`slack:${CAROL}`}`;
    expect(rows[0]?.n).toBe(0);
    const denied = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events where actor = ${`slack:${CAROL}`} and outcome = 'denied'`;
    expect(denied[0]?.n).toBeGreaterThan(0);
  });

  it('a builder cannot name someone else: without a user_context (or with a forged one) nothing is requested', async () => {
    const before = (await h.db.sql<{ n: number }[]>`select count(*)::int as n from lockdowns`)[0]?.n;
    for (const user_context of [undefined, ALICE, { id: '<@U0WFALICE1>' }, { id: 'T0TEAM' }]) {
      const r = await run({ host: 'wf-web-02.contoso.com', duration: '1h', user_context });
      expect(r.state).toBe('failed');
      expect(r.error).toMatch(/who runs this workflow/);
    }
    expect((await h.db.sql<{ n: number }[]>`select count(*)::int as n from lockdowns`)[0]?.n).toBe(before);
  });

  it.each([
    ['a duration that is not a preset', { duration: '3h' }, /one of 1h, 2h, 4h, 8h, 12h, 24h/],
    ['no host', { host: '   ' }, /Name the host/],
    ['a host that is no host', { host: 'web 01; drop table' }, /not a host name/],
    ['an unknown host', { host: 'wf-ghost-99.contoso.com' }, /No host matches/],
    ['an over-long reason', { reason: 'x'.repeat(501) }, /under 500 characters/],
  ])('refuses %s with the reason, requesting nothing', async (_, bad, why) => {
    const r = await run({
      host: 'wf-web-03.contoso.com',
      duration: '2h',
      user_context: person(ALICE),
      ...bad,
    });
    expect(r.state).toBe('failed');
    expect(r.error).toMatch(why);
    const open = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from lockdowns where host_name = 'wf-web-03.contoso.com'`;
    expect(open[0]?.n).toBe(0);
  });

  it('one execution delivered twice (a retry under a new event id) requests once', async () => {
    const execution = h.slack.startFunction({
      callbackId: FunctionId.lockHost,
      outputParameters: step.output_parameters,
    });
    const inputs = { host: 'wf-web-03.contoso.com', duration: '1h', user_context: person(ALICE) };
    await Promise.all([
      h.signer.functionExecuted({ execution, inputs, fn: step }),
      h.signer.functionExecuted({ execution, inputs, fn: step }),
    ]);
    const ended = await until(() => {
      const e = h.slack.execution(execution.id);
      return e && e.state !== 'running' ? e : null;
    }, 'the execution to end');
    expect(ended.state).toBe('completed');
    const rows = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from lockdowns where host_name = 'wf-web-03.contoso.com'`;
    expect(rows[0]?.n).toBe(1);
    expect(
      h.slack
        .callsTo('functions.completeSuccess')
        .filter((c) => c.args.function_execution_id === execution.id),
    ).toHaveLength(1);
    // the second delivery was dropped, not refused as `already_open`
    expect(
      h.slack.callsTo('functions.completeError').filter((c) => c.args.function_execution_id === execution.id),
    ).toHaveLength(0);
  });
});

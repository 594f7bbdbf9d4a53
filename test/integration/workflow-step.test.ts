import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { plain } from '../../src/slack/functions/lock-host.js';
import { FunctionId } from '../../src/slack/ids.js';
import type { OutputParameter } from '../fakes/slack/functions.js';
import { APPROVER_CHANNEL, bootHarness, type Harness, until } from '../helpers/harness.js';

// Issue #18, item 3: the Workflow Builder step "Lock a host" (Slack custom step `lock_host`): a
// `function_executed` event with inputs host, duration, reason and the person's user_context; the
// same request as /hostlock lock, by that person; `functions.completeSuccess` with lockdown_id and
// state, or `functions.completeError` with the reason.

const ALICE = 'U0WFALICE1'; // responder
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
  await h.grant('analyst', CAROL);
  await h.settings({ approver_channel: APPROVER_CHANNEL });
  for (const name of ['wf-web-01', 'wf-web-02', 'wf-web-03']) {
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
    // the same approval as a typed request: posted to the approvers with its buttons
    const root = await h.slack.waitForCall(
      'chat.postMessage',
      (c) =>
        c.args.channel === APPROVER_CHANNEL && JSON.stringify(c.args.blocks ?? '').includes(l?.id ?? '-'),
    );
    expect(JSON.stringify(root.args.blocks)).toContain('lockdown.approve');
    // approvers see it came through a workflow; the audit and the row say which run
    expect(JSON.stringify(root.args.blocks)).toContain('through a Workflow Builder step');
    expect(l?.requestedVia).toMatch(/^workflow:Wx[A-Z0-9]+$/);
    const audit = await h.db.sql<{ details: { via?: string } }[]>`
      select details from audit_events where target_id = ${l?.id ?? ''} and action = 'lockdown.requested'`;
    expect(audit[0]?.details.via).toBe(l?.requestedVia);
    // the person is told what was asked in their name, and how to take it back
    const dm = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALICE && String(c.args.text).includes(l?.id ?? '-'),
    );
    expect(String(dm.args.text)).toMatch(/in your name.*\/hostlock unlock wf-web-01\.contoso\.com/);
    // Bolt ended the step with the workflow's own token, not the bot token
    const done = h.slack.callsTo('functions.completeSuccess').at(-1);
    expect(done?.token).toBe(r.execution.token);
  });

  it('always waits for an approver, even with approval off: a click on a workflow’s button need not have said it locks a host', async () => {
    await h.settings({ approval_required: false });
    try {
      const r = await run({ host: 'wf-web-02.contoso.com', duration: '1h', user_context: person(ALICE) });
      expect(r.state, r.error).toBe('completed');
      expect(r.outputs?.state).toBe('pending_approval');
      expect(h.mde.requests.filter((q) => q.method === 'POST' && /isolate$/.test(q.path))).toHaveLength(0);
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

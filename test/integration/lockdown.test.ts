import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { ActionId, hostBlockId, lockdownBlockId } from '../../src/slack/ids.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import {
  APPROVER_CHANNEL,
  allText,
  bootHarness,
  type Harness,
  startAnother,
  until,
} from '../helpers/harness.js';

const ALICE = 'U0ALICE001'; // responder who asks
const BOB = 'U0BOB00001'; // responder who approves
const CAROL = 'U0CAROL001'; // analyst: may look, may not lock

let h: Harness;

const posts = (kind: 'isolate' | 'unisolate', machineId: string) =>
  h.mde.requests.filter(
    (r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/${kind}`) && r.status === 201,
  ).length;

async function row(id: string): Promise<Lockdown> {
  const l = await lockdownStore(h.db.db).get(id);
  if (!l) {
    throw new Error(`no lockdown ${id}`);
  }
  return l;
}

async function openFor(machineId: string): Promise<Lockdown | null> {
  return lockdownStore(h.db.db).openForMachine(machineId);
}

/** The Approve / Deny button of a lockdown's root message, clicked by `userId`. */
function click(actionId: string, l: Lockdown, userId: string) {
  return h.signer.blockAction({
    userId,
    actionId,
    blockId: lockdownBlockId(l.id),
    value: l.id,
    channelId: APPROVER_CHANNEL,
    messageTs: l.approvalTs ?? '',
  });
}

/** The interactive elements of a message's actions blocks. */
function buttonsOf(blocks: unknown): Array<Record<string, unknown>> {
  return ((blocks ?? []) as Array<{ type: string; elements?: Array<Record<string, unknown>> }>)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);
}

/** Let Defender finish what it has pending (Pending → InProgress → Succeeded). */
function defenderCompletes() {
  h.mde.advanceActions();
  h.mde.advanceActions();
}

async function untilState(id: string, state: string, timeoutMs?: number): Promise<Lockdown> {
  return until(
    async () => {
      const l = await row(id);
      return l.state === state ? l : null;
    },
    `lockdown ${id} to become ${state}`,
    timeoutMs,
  );
}

/** Makes the clock "pass" for one lockdown: what was due later is due now. */
async function timePasses(id: string, set: string) {
  await h.db.sql.unsafe(`update lockdowns set ${set}, next_check_at = now() where id = $1`, [id]);
  await h.app.lockdownJobs.sweep();
}

function machine(name: string, extra: Partial<MdeMachine> = {}): MdeMachine {
  const m = h.mde.machine({ computerDnsName: name, osPlatform: 'Windows11', ...extra });
  h.mde.addMachines([m]);
  return m;
}

async function requestVia(slashText: string, as: string): Promise<Lockdown> {
  const r = await h.slash(slashText, { as });
  expect(r.status).toBe(200);
  const target = slashText.split(/\s+/)[1] ?? '';
  const answer = await h.slack.waitForResponse(
    (p) => /Lockdown `lck_/.test(allText(p.body)) && allText(p.body).includes(`\`${target}`),
  );
  const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1];
  if (!id) {
    throw new Error(`no lockdown in answer: ${allText(answer.body)}`);
  }
  return row(id);
}

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  await h.grant('analyst', CAROL);
  await h.settings({ approver_channel: APPROVER_CHANNEL });
});
afterAll(() => h.close());
beforeEach(async () => {
  await h.settings({ approval_required: true });
});

describe('the whole story: request → approve → isolate → expire → release', () => {
  it('isolates once, releases once when time runs out, and tells the thread', async () => {
    const m = machine('flow-01.contoso.com');
    const l = await requestVia('lock flow-01 4h beaconing to 203.0.113.9', ALICE);
    expect(l.state).toBe('pending_approval');
    expect(l.approvalChannel).toBe(APPROVER_CHANNEL);
    const root = h.slack.findMessage(APPROVER_CHANNEL, l.approvalTs ?? '');
    expect(JSON.stringify(root?.blocks)).toContain(ActionId.lockdownApprove);
    expect(allText(root?.blocks)).toMatch(/beaconing/);
    // Approve and Deny are plain buttons: a confirm dialog would block approval from mobile
    const decide = buttonsOf(root?.blocks).filter(
      (e) => e.action_id === ActionId.lockdownApprove || e.action_id === ActionId.lockdownDeny,
    );
    expect(decide).toHaveLength(2);
    expect(decide.every((e) => e.confirm === undefined)).toBe(true);

    await click(ActionId.lockdownApprove, l, BOB);
    await until(async () => posts('isolate', m.id) === 1, 'the isolate call');
    const isolating = await until(async () => {
      const x = await row(l.id);
      return x.mdeActionId ? x : null;
    }, 'the action id to be saved');
    expect(isolating.state).toBe('isolating');
    expect(isolating.approvedBy).toBe(`slack:${BOB}`);
    const comment = JSON.parse(h.mde.requests.find((r) => r.path.endsWith(`${m.id}/isolate`))?.body ?? '{}');
    expect(comment.Comment).toContain(`[hostlock:${l.id}]`);
    expect(comment.Comment).toContain(`slack:${ALICE}`);
    expect(comment.Comment).toContain(`slack:${BOB}`);
    expect(comment.Comment).toMatch(/: beaconing to 203\.0\.113\.9$/); // the reason, as typed
    expect(comment.IsolationType).toBe('Full');

    defenderCompletes();
    const active = await untilState(l.id, 'active');
    expect(active.expiresAt?.getTime()).toBe((active.lockedAt?.getTime() ?? 0) + 4 * 3_600_000);
    // the host row is derived data, written just after the lockdown's own transaction
    await until(async () => {
      const [hostRow] = await h.db.sql`select isolation_state from hosts where machine_id = ${m.id}`;
      return hostRow?.isolation_state === 'isolated_by_hostlock';
    }, 'the host to show isolated_by_hostlock');

    await timePasses(
      l.id,
      "expires_at = now() - interval '1 second', locked_at = now() - interval '4 hours'",
    );
    await until(async () => posts('unisolate', m.id) === 1, 'the release call');
    defenderCompletes();
    await h.app.lockdownJobs.sweep();
    const released = await untilState(l.id, 'released');
    expect(released.releaseReason).toBe('expired');
    expect(posts('isolate', m.id)).toBe(1);
    expect(posts('unisolate', m.id)).toBe(1);

    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /is released/.test(String(c.args.text)),
    );
    const thread = h.slack.messages.filter((x) => x.threadTs === l.approvalTs).map((x) => x.text);
    expect(thread.join('\n')).toMatch(/Approved by/);
    expect(thread.join('\n')).toMatch(/is isolated/);
    expect(thread.join('\n')).toMatch(/is released/);
    await h.slack.waitForCall(
      'chat.update',
      (c) => c.args.ts === l.approvalTs && /Released/.test(String(c.args.text)),
    );
    const audit = await h.db.sql`select action from audit_events where target_id = ${l.id} order by id`;
    expect(audit.map((a) => a.action)).toEqual([
      'lockdown.requested',
      'lockdown.approved',
      'lockdown.locked',
      'lockdown.release_started',
      'lockdown.released',
    ]);
  });
});

describe('approvals', () => {
  it('refuses self-approval and changes nothing', async () => {
    const m = machine('self-01.contoso.com');
    const l = await requestVia('lock self-01 1h', ALICE);
    const r = await click(ActionId.lockdownApprove, l, ALICE);
    expect(r.status).toBe(200);
    const said = await h.slack.waitForResponse((p) => /your own request/.test(allText(p.body)));
    expect((said.body as { response_type?: string }).response_type).toBe('ephemeral');
    expect((await row(l.id)).state).toBe('pending_approval');
    expect(posts('isolate', m.id)).toBe(0);
    const audited = await h.db.sql`
      select details->>'rule' as rule from audit_events
      where action = 'authz.denied' and target_id = ${l.id} and actor = ${`slack:${ALICE}`}`;
    expect(audited.map((a) => a.rule)).toEqual(['self_approval']);
  });

  it('deny closes the request without touching Defender', async () => {
    const m = machine('deny-01.contoso.com');
    const l = await requestVia('lock deny-01 2h', ALICE);
    await click(ActionId.lockdownDeny, l, BOB);
    const denied = await untilState(l.id, 'denied');
    expect(denied.approvedBy).toBe(`slack:${BOB}`);
    expect(posts('isolate', m.id)).toBe(0);
    expect(await openFor(m.id)).toBeNull();
  });

  it('a request nobody decides expires, and the requester is told in the thread', async () => {
    machine('timeout-01.contoso.com');
    const l = await requestVia('lock timeout-01 1h', ALICE);
    await timePasses(l.id, "created_at = now() - interval '31 minutes'");
    await untilState(l.id, 'approval_expired');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /expired/.test(String(c.args.text)),
    );
    const late = await click(ActionId.lockdownApprove, l, BOB);
    expect(late.status).toBe(200);
    await h.slack.waitForResponse((p) => /already decided|expired/.test(allText(p.body)));
    const thread = h.slack.messages
      .filter((x) => x.threadTs === l.approvalTs)
      .map((x) => x.text)
      .join('\n');
    expect(thread).toMatch(new RegExp(`<@${ALICE}>.*nothing was changed`));
  });

  it('the same approve click delivered 5 times in parallel isolates once', async () => {
    const m = machine('dup-click-01.contoso.com');
    const l = await requestVia('lock dup-click-01 1h', ALICE);
    const approve = () => click(ActionId.lockdownApprove, l, BOB);
    const answers = await Promise.all([approve(), approve(), approve(), approve(), approve()]);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await until(async () => posts('isolate', m.id) === 1, 'one isolate');
    defenderCompletes();
    await untilState(l.id, 'active');
    expect(posts('isolate', m.id)).toBe(1);
    const approvals = await h.db
      .sql`select count(*)::int as n from audit_events where target_id = ${l.id} and action = 'lockdown.approved'`;
    expect(approvals[0]?.n).toBe(1);
  });

  it('refuses a click by someone whose role was revoked after the request was posted', async () => {
    const DAVE = 'U0DAVE0001';
    await h.grant('responder', DAVE);
    const m = machine('revoked-01.contoso.com');
    const l = await requestVia('lock revoked-01 1h', ALICE);
    await h.db.sql`delete from role_bindings where subject_id = ${DAVE}`;
    await click(ActionId.lockdownApprove, l, DAVE);
    await h.slack.waitForResponse((p) => /`lockdown:approve`/.test(allText(p.body)));
    expect((await row(l.id)).state).toBe('pending_approval');
    expect(posts('isolate', m.id)).toBe(0);
    const denied = await h.db
      .sql`select count(*)::int as n from audit_events where actor = ${`slack:${DAVE}`} and action = 'authz.denied'`;
    expect(denied[0]?.n).toBeGreaterThan(0);
  });
});

describe('exactly once under concurrency and crashes', () => {
  it('50 concurrent lock requests for one host from different users make one lockdown and one isolate', async () => {
    await h.settings({ approval_required: false });
    const m = machine('race-01.contoso.com');
    const users = Array.from({ length: 50 }, (_, i) => `U0RACE${String(i).padStart(4, '0')}`);
    for (const u of users) {
      await h.grant('responder', u);
    }
    await h.app.hostsSync.run(); // the host is in the inventory, as it would be after the first poll
    const seen = h.slack.responses.length;
    const acks = await Promise.all(users.map((u) => h.slash('lock race-01 1h race', { as: u })));
    expect(acks.every((a) => a.status === 200)).toBe(true);
    const answers = await until(async () => {
      const got = h.slack.responses
        .slice(seen)
        .filter((p) => /Lockdown `lck_|already has an open lockdown/.test(allText(p.body)));
      return got.length >= 50 ? got : null;
    }, '50 answers');
    expect(answers.filter((p) => /Lockdown `lck_/.test(allText(p.body)))).toHaveLength(1);
    expect(answers.filter((p) => /already has an open lockdown/.test(allText(p.body)))).toHaveLength(49);
    const rows = await h.db.sql`select id from lockdowns where machine_id = ${m.id}`;
    expect(rows).toHaveLength(1);
    await until(async () => posts('isolate', m.id) === 1, 'one isolate');
    defenderCompletes();
    await untilState(String(rows[0]?.id), 'active');
    expect(posts('isolate', m.id)).toBe(1);
  });

  it('after a crash between the isolate call and saving it, adopts the isolation instead of sending another', async () => {
    const m = machine('crash-01.contoso.com');
    const id = 'lck_crashtest0000000001';
    // the row as a crashed worker left it: isolating, no action id saved…
    await h.db
      .sql`insert into lockdowns (id, machine_id, host_name, state, duration_minutes, requested_by, approved_by, source, attempts, next_check_at, decided_at)
      values (${id}, ${m.id}, 'crash-01.contoso.com', 'isolating', 60, ${`slack:${ALICE}`}, ${`slack:${BOB}`}, 'manual', 1, now(), now())`;
    // …while Defender did receive its isolate
    h.mde.addAction({
      machineId: m.id,
      type: 'Isolate',
      status: 'Pending',
      scope: 'Full',
      requestorComment: `[hostlock:${id}] hostlock lockdown`,
    });
    await h.app.lockdownJobs.sweep();
    const adopted = await until(async () => (await row(id)).mdeActionId, 'the adopted action');
    expect(adopted).toBe(h.mde.actions.find((a) => a.machineId === m.id)?.id);
    defenderCompletes();
    await untilState(id, 'active');
    expect(posts('isolate', m.id)).toBe(0);
  });

  it('releases 20 overdue lockdowns within 30 s of a fresh start', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = machine(`overdue-${i}.contoso.com`);
      const id = `lck_overdue${String(i).padStart(10, '0')}`;
      const action = h.mde.addAction({
        machineId: m.id,
        type: 'Isolate',
        status: 'Succeeded',
        scope: 'Full',
        requestorComment: `[hostlock:${id}]`,
      });
      await h.db
        .sql`insert into lockdowns (id, machine_id, host_name, state, duration_minutes, requested_by, source, mde_action_id, locked_at, expires_at, next_check_at)
        values (${id}, ${m.id}, ${m.computerDnsName}, 'active', 60, ${`slack:${ALICE}`}, 'manual', ${action.id}, now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour')`;
      ids.push(id);
    }
    const started = Date.now();
    const second = await bootSecondInstance();
    try {
      await until(
        async () => {
          h.mde.advanceActions();
          const n = await h.db
            .sql`select count(*)::int as n from lockdowns where id = any(${ids}) and state = 'released'`;
          return n[0]?.n === 20;
        },
        '20 releases',
        25_000,
      );
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await second.stop();
    }
  });
});

describe('changes made outside hostlock', () => {
  it('ends an active lockdown as released_externally when the host is released in the portal, without releasing it', async () => {
    await h.settings({ approval_required: false });
    const m = machine('portal-rel-01.contoso.com');
    const l = await requestVia('lock portal-rel-01 8h', ALICE);
    await until(async () => (await row(l.id)).mdeActionId, 'the isolate call');
    defenderCompletes();
    await untilState(l.id, 'active');
    h.mde.addAction({
      machineId: m.id,
      type: 'Unisolate',
      status: 'Succeeded',
      requestor: 'soc@contoso.com',
      requestorComment: 'released by hand',
    });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const ended = await untilState(l.id, 'released_externally');
    expect(ended.releaseReason).toBe('external');
    expect(posts('unisolate', m.id)).toBe(0);
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /released outside hostlock/.test(String(c.args.text)),
    );
  });

  it('reminds before the end with Extend, once', async () => {
    await h.settings({ approval_required: false });
    machine('remind-01.contoso.com');
    const l = await requestVia('lock remind-01 1h', ALICE);
    await until(async () => (await row(l.id)).mdeActionId, 'the isolate call');
    defenderCompletes();
    await untilState(l.id, 'active');
    await timePasses(l.id, "expires_at = now() + interval '10 minutes'");
    const call = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /ends/.test(String(c.args.text)),
    );
    expect(JSON.stringify(call.args.blocks)).toContain(ActionId.lockdownExtend);
    expect((await row(l.id)).remindedAt).not.toBeNull();
  });

  it('lets an admin break glass on an excluded host, audited and announced', async () => {
    await h.settings({ approval_required: true });
    const ADMIN = 'U0ADMIN999';
    await h.grant('admin', ADMIN);
    const m = machine('vault-01.contoso.com', { machineTags: ['crown-jewels'] });
    await h.exclude(['tag:crown-jewels']);
    await h.slash('lock vault-01 1h', { as: ALICE });
    await h.slack.waitForResponse((p) => /exclusion list/.test(allText(p.body)));
    expect(await openFor(m.id)).toBeNull();
    await h.slash('lock vault-01 1h ransomware spreading --break-glass', { as: ALICE });
    await h.slack.waitForResponse((p) => /Only admins/.test(allText(p.body)));
    const l = await requestVia('lock vault-01 1h ransomware spreading --break-glass', ADMIN);
    expect(l.breakGlass).toBe(true);
    expect(l.reason).toBe('ransomware spreading');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /Break-glass/.test(String(c.args.text)),
    );
    await h.settings({ auto_exclusions: [] });
  });
});

describe('while Defender is paused', () => {
  it('sends no new isolation but still releases a lockdown when its time ends', async () => {
    await h.settings({ approval_required: false });
    const m = machine('paused-rel-01.contoso.com');
    const l = await requestVia('lock paused-rel-01 1h', ALICE);
    await until(async () => (await row(l.id)).mdeActionId, 'the isolate call');
    defenderCompletes();
    await untilState(l.id, 'active');

    await h.settings({ mde_state: 'paused' });
    const other = machine('paused-new-01.contoso.com');
    await h.slash('lock paused-new-01 1h', { as: ALICE });
    await h.slack.waitForResponse((p) => /paused/.test(allText(p.body)));
    expect(posts('isolate', other.id)).toBe(0);

    await timePasses(l.id, "expires_at = now() - interval '1 second'");
    await until(async () => posts('unisolate', m.id) === 1, 'the release call while paused');
    defenderCompletes();
    await untilState(l.id, 'released');
    await h.settings({ mde_state: 'enabled' });
  });
});

describe('offline devices and other workspaces', () => {
  it('cancels an isolation still pending when the lockdown time runs out, and tells the thread', async () => {
    await h.settings({ approval_required: false });
    machine('offline-01.contoso.com', { healthStatus: 'Inactive' });
    const l = await requestVia('lock offline-01 1h', ALICE);
    const actionId = await until(async () => (await row(l.id)).mdeActionId, 'the isolate call');
    // Pending for over the note threshold (the harness uses 1 h): the thread is told, once
    const pending = h.mde.actions.find((a) => a.id === actionId);
    if (pending) {
      pending.creationDateTimeUtc = new Date(Date.now() - 2 * 3_600_000).toISOString();
    }
    await timePasses(l.id, 'attempts = attempts');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) =>
        c.args.thread_ts === l.approvalTs && /still has the isolation .* pending/.test(String(c.args.text)),
    );
    expect((await row(l.id)).pendingNotedAt).not.toBeNull();
    // Defender keeps the action Pending (device offline) while the hour passes
    await timePasses(
      l.id,
      "decided_at = now() - interval '61 minutes', created_at = now() - interval '61 minutes'",
    );
    const failed = await untilState(l.id, 'failed');
    expect(failed.lastError).toMatch(/cancelled/);
    const action = h.mde.actions.find((a) => a.id === failed.mdeActionId);
    expect(action?.status).toBe('Cancelled');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && /failed/.test(String(c.args.text)),
    );
  });

  it('refuses a click from another workspace and changes nothing', async () => {
    await h.settings({ approval_required: true });
    const m = machine('foreign-01.contoso.com');
    const l = await requestVia('lock foreign-01 1h', ALICE);
    const { SlackSigner } = await import('../fakes/slack-signer.js');
    const { SIGNING_SECRET } = await import('../helpers/harness.js');
    const foreign = new SlackSigner({
      signingSecret: SIGNING_SECRET,
      eventsUrl: `${h.app.url}/slack/events`,
      peer: h.slack,
      teamId: 'T0OTHERWS',
    });
    const r = await foreign.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(l.id),
      value: l.id,
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    });
    expect(r.status).toBeLessThan(500);
    expect(h.logs.some((x) => x.includes('slack.foreign_team_refused') && x.includes('T0OTHERWS'))).toBe(
      true,
    );
    expect((await row(l.id)).state).toBe('pending_approval');
    expect(posts('isolate', m.id)).toBe(0);
  });

  it('refuses another workspace that names an Enterprise Grid org, when ours is not in one', async () => {
    const form = new URLSearchParams({
      team_id: 'T0OTHERWS',
      enterprise_id: 'E0FOREIGN1',
      channel_id: 'C0000CHAN',
      user_id: BOB,
      user_name: 'bob',
      command: '/hostlock',
      text: 'list',
      api_app_id: 'A0HOSTLOCK',
      is_enterprise_install: 'false',
      response_url: h.slack.newResponseUrl({ channelId: 'C0000CHAN', userId: BOB }),
      trigger_id: h.slack.issueTriggerId({ userId: BOB }),
    });
    const r = await h.signer.send(form.toString(), 'application/x-www-form-urlencoded');
    expect(r.status).toBeLessThan(500);
    expect(r.text).not.toMatch(/lockdown/i);
    expect(h.logs.some((x) => x.includes('slack.foreign_team_refused') && x.includes('T0OTHERWS'))).toBe(
      true,
    );
  });
});

describe('what hostlock will not do', () => {
  it('never locks or releases a host isolated outside hostlock', async () => {
    const m = machine('outside-01.contoso.com');
    h.mde.addAction({ machineId: m.id, type: 'Isolate', status: 'Succeeded', requestor: 'soc@contoso.com' });
    await h.app.hostsSync.run();
    const r = await h.slash('lock outside-01 1h', { as: ALICE });
    expect(r.status).toBe(200);
    await h.slack.waitForResponse((p) => /isolated outside hostlock/.test(allText(p.body)));
    const u = await h.slash('unlock outside-01', { as: ALICE });
    expect(allText(u.json())).toMatch(/never releases what it did not lock/);
    expect(posts('unisolate', m.id)).toBe(0);
    expect(await openFor(m.id)).toBeNull();
  });

  it('refuses durations outside the presets, showing them', async () => {
    machine('dur-01.contoso.com');
    const r = await h.slash('lock dur-01 3h', { as: ALICE });
    expect(allText(r.json())).toMatch(/1h, 2h, 4h, 8h, 12h, 24h/);
  });

  it('refuses an analyst, audited, without calling Defender', async () => {
    const m = machine('analyst-01.contoso.com');
    const r = await h.slash('lock analyst-01 1h', { as: CAROL });
    expect(allText(r.json())).toMatch(/`lockdown:edit`/);
    expect(await openFor(m.id)).toBeNull();
  });

  it('refuses a host on the exclusion list', async () => {
    const m = machine('dc-01.contoso.com');
    await h.exclude(['dc-*']);
    await h.slash('lock dc-01 1h', { as: ALICE });
    await h.slack.waitForResponse((p) => /exclusion list/.test(allText(p.body)));
    expect(await openFor(m.id)).toBeNull();
    await h.settings({ auto_exclusions: [] });
  });
});

describe('unlock and extend', () => {
  async function activeLockdown(name: string): Promise<{ m: MdeMachine; l: Lockdown }> {
    await h.settings({ approval_required: false });
    const m = machine(name);
    const l = await requestVia(`lock ${name.split('.')[0]} 2h`, ALICE);
    await until(async () => posts('isolate', m.id) === 1, 'isolate');
    defenderCompletes();
    return { m, l: await untilState(l.id, 'active') };
  }

  it('never releases before expires_at, even when woken just before it', async () => {
    const { m, l } = await activeLockdown('early-01.contoso.com');
    // woken 1.5 s early (within the trigger tolerance): it waits for the end instead of releasing
    await timePasses(l.id, "expires_at = now() + interval '1500 milliseconds'");
    const waiting = await row(l.id);
    expect(waiting.state).toBe('active');
    expect(waiting.nextCheckAt?.getTime()).toBe(waiting.expiresAt?.getTime());
    expect(posts('unisolate', m.id)).toBe(0);
    await until(async () => posts('unisolate', m.id) === 1, 'the release after expires_at');
    const calledAt = Date.now();
    expect(calledAt).toBeGreaterThanOrEqual(waiting.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
  });

  it('unlock by hand releases through Defender and records who', async () => {
    const { m, l } = await activeLockdown('unlock-01.contoso.com');
    const r = await h.slash('unlock unlock-01 false positive', { as: BOB });
    expect(allText(r.json())).toMatch(/Releasing/);
    await until(async () => posts('unisolate', m.id) === 1, 'release call');
    defenderCompletes();
    await h.app.lockdownJobs.sweep();
    const done = await untilState(l.id, 'released');
    expect(done.releaseReason).toBe('manual');
    expect(done.releasedBy).toBe(`slack:${BOB}`);
  });

  it('the Unlock now button on the card releases once, and an analyst’s click changes nothing', async () => {
    await h.grant('analyst', CAROL);
    const { m, l } = await activeLockdown('button-01.contoso.com');
    // the card is rewritten just after the lockdown's own transaction: wait for the active card
    const unlock = await until(async () => {
      const root = h.slack.findMessage(l.approvalChannel ?? '', l.approvalTs ?? '');
      const b = buttonsOf(root?.blocks).find((e) => e.action_id === ActionId.lockdownUnlock);
      return (b?.text as { text?: string } | undefined)?.text === 'Unlock now' ? b : null;
    }, 'the active card');
    expect(unlock).toMatchObject({ value: l.id });
    const press = (userId: string) =>
      h.signer.blockAction({
        userId,
        actionId: ActionId.lockdownUnlock,
        blockId: lockdownBlockId(l.id),
        value: l.id,
        channelId: l.approvalChannel ?? '',
        messageTs: l.approvalTs ?? '',
      });
    await press(CAROL);
    await h.slack.waitForResponse((p) => /lockdown:edit/.test(allText(p.body)));
    expect((await row(l.id)).state).toBe('active');
    await press(BOB);
    await until(async () => posts('unisolate', m.id) === 1, 'the release call');
    defenderCompletes();
    await h.app.lockdownJobs.sweep();
    expect(await untilState(l.id, 'released')).toMatchObject({ releasedBy: `slack:${BOB}` });
    expect(posts('unisolate', m.id)).toBe(1);
  });

  it('extend moves the release and leaves one timer', async () => {
    const { l } = await activeLockdown('extend-01.contoso.com');
    const before = await row(l.id);
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownExtend,
      blockId: lockdownBlockId(l.id),
      selectedOption: '4h',
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    });
    const after = await until(async () => {
      const x = await row(l.id);
      return x.expiresAt?.getTime() !== before.expiresAt?.getTime() ? x : null;
    }, 'the new end');
    expect((after.expiresAt?.getTime() ?? 0) - (before.expiresAt?.getTime() ?? 0)).toBe(4 * 3_600_000);
    // One timer for the future (the old one is gone); short "row was busy, look again" triggers
    // may come and go meanwhile (under load, often): they are not the schedule.
    const timers = await until(async () => {
      const t = await h.db.sql`
        select data->>'at' as at from agenda_jobs
        where name = 'lockdown.advance' and data->>'lockdownId' = ${l.id} and next_run_at is not null
          and (data->>'at')::timestamptz > now() + interval '1 minute'`;
      return t.length === 1 ? t : null;
    }, 'a single timer');
    expect(timers.map((t) => t.at)).toEqual([after.nextCheckAt?.toISOString()]);
  });

  it('the host card offers Lock, and the select requests a lockdown', async () => {
    await h.settings({ approval_required: true });
    const m = machine('card-01.contoso.com');
    await h.signer.blockAction({
      userId: ALICE,
      actionId: ActionId.hostLock,
      blockId: hostBlockId(m.id),
      selectedOption: '8h',
    });
    const open = await until(async () => openFor(m.id), 'a lockdown from the card');
    expect(open.durationMinutes).toBe(480);
    expect(open.state).toBe('pending_approval');
  });
});

async function bootSecondInstance() {
  return startAnother(h, {
    options: {
      processEvery: '200 milliseconds',
      lockdownTiming: { trackEveryMs: 100, retryBackoffMs: [100] },
      defenderClient: { budget: { perMinute: 100_000, perHour: 1_000_000 } },
    },
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import { ActionId, lockdownBlockId, requestBlockId } from '../../src/slack/ids.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #18, item 2: several hosts in one request — `/hostlock lock a b c 4h …` and REST `hosts` —
// make one request: one approval message listing every host, one decision, one lockdown per host
// grouped by a request id, each host's outcome told in the thread; a hosts-per-request limit
// (admins above it); every host spends the Defender lookup quota like a lookup.

const ALICE = 'U0SEVALICE'; // responder who asks
const BOB = 'U0SEVBOB01'; // responder who approves
const CAROL = 'U0SEVCAROL'; // analyst: may look, may not lock
const ADA = 'U0SEVADMIN'; // admin

let h: Harness;
let token: string;
const m: Record<string, MdeMachine> = {};

const store = () => lockdownStore(h.db.db);
const ofRequest = (id: string) => store().ofRequest(id);
const isolatePosts = (machineId: string) =>
  h.mde.requests.filter(
    (r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/isolate`) && r.status === 201,
  ).length;

/** `/hostlock lock …` as `as`; the request id from the answer, or the whole answer when refused. */
async function lockVia(text: string, as: string): Promise<{ requestId: string | null; answer: string }> {
  const from = h.slack.responses.length;
  const ack = await h.slash(text, { as });
  expect(ack.status).toBe(200);
  const said = ack.text ? String((ack.json() as { text?: unknown }).text ?? '') : '';
  if (said && !/^Requesting/.test(said)) {
    return { requestId: null, answer: said }; // refused in the ack itself
  }
  const reply = await h.slack.waitForResponse(
    (p) => h.slack.responses.indexOf(p) >= from && !/^Requesting/.test(allText(p.body)),
  );
  const answer = allText(reply.body);
  return { requestId: /`(req_[a-z0-9]+)`/.exec(answer)?.[1] ?? null, answer };
}

/** A button of a request's root message, clicked by `userId`. */
function clickRequest(actionId: string, requestId: string, userId: string, rows: Lockdown[]) {
  return h.signer.blockAction({
    userId,
    actionId,
    blockId: requestBlockId(requestId),
    value: requestId,
    channelId: APPROVER_CHANNEL,
    messageTs: rows[0]?.approvalTs ?? '',
  });
}

async function untilAll(requestId: string, state: string, n: number): Promise<Lockdown[]> {
  return until(
    async () => {
      const rows = await ofRequest(requestId);
      return rows.filter((r) => r.state === state).length === n ? rows : null;
    },
    `${n} lockdowns of ${requestId} to become ${state}`,
    15_000,
    () => h.mde.advanceActions(),
  );
}

/** The replies in the request's thread, in order. */
function threadReplies(rows: Lockdown[]): string[] {
  const ts = rows[0]?.approvalTs;
  return h.slack.calls
    .filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === ts && ts)
    .map((c) => String(c.args.text));
}

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  await h.grant('analyst', CAROL);
  await h.grant('admin', ADA);
  await h.settings({ approver_channel: APPROVER_CHANNEL, hosts_per_request: 4 });
  for (const name of [
    'sev-web-01',
    'sev-web-02',
    'sev-web-03',
    'sev-dc-01',
    'sev-out-01',
    'sev-x-01',
    'sev-x-02',
  ]) {
    m[name] = h.mde.machine({
      computerDnsName: `${name}.contoso.com`,
      osPlatform: 'Windows11',
      lastIpAddress: `10.77.0.${Object.keys(m).length + 1}`,
    });
  }
  h.mde.addMachines(Object.values(m));
  // isolated in the Defender portal: hostlock shows it as such and never takes it over
  h.mde.addAction({
    machineId: m['sev-out-01']?.id ?? '',
    type: 'Isolate',
    status: 'Succeeded',
    requestor: 'soc@contoso.com',
  });
  expect((await h.app.hostsSync.run()).status).toBe('ok');
  await h.exclude(['sev-dc-*']);
  const t = await createApiToken(h.app.store, {
    name: 'sev-edit',
    scopes: ['lockdown:view', 'lockdown:edit'],
  });
  if (t === 'name_taken') {
    throw new Error('token name taken');
  }
  token = t.token;
});
afterAll(() => h.close());

describe('/hostlock lock with several hosts', () => {
  let requestId: string;
  let rows: Lockdown[];

  it('makes one request: one approval message listing every host it may lock; the rest left out, each with its reason', async () => {
    const { requestId: id, answer } = await lockVia(
      'lock sev-web-01 sev-web-02 sev-dc-01 sev-out-01 4h beaconing --ticket INC-9',
      ALICE,
    );
    expect(id, answer).toMatch(/^req_/);
    requestId = id ?? '';
    expect(answer).toMatch(/Request `req_\w+` to lock 2 hosts for 4 h is waiting for approval/);
    expect(answer).toMatch(/sev-dc-01.*exclusion list/);
    expect(answer).toMatch(/sev-out-01.*isolated outside hostlock/);
    rows = await ofRequest(requestId);
    expect(rows.map((r) => [r.hostName, r.state, r.ticket, r.reason])).toEqual([
      ['sev-web-01.contoso.com', 'pending_approval', 'INC-9', 'beaconing'],
      ['sev-web-02.contoso.com', 'pending_approval', 'INC-9', 'beaconing'],
    ]);
    // one root message, in one thread shared by both lockdowns
    expect(new Set(rows.map((r) => `${r.approvalChannel}/${r.approvalTs}`)).size).toBe(1);
    const roots = h.slack.calls.filter(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.args.channel === APPROVER_CHANNEL &&
        !c.args.thread_ts &&
        JSON.stringify(c.args.blocks ?? '').includes(requestId),
    );
    expect(roots).toHaveLength(1);
    const root = JSON.stringify(roots[0]?.args.blocks);
    expect(root).toContain('sev-web-01.contoso.com');
    expect(root).toContain('sev-web-02.contoso.com');
    expect(root).toContain('Approve all 2');
    expect(root).not.toContain('lck_'); // the buttons name the request, nothing else
    // the thread says which hosts were left out and why
    const leftOut = await until(
      () => threadReplies(rows).find((t) => /Not in this request/.test(t)),
      'the left-out hosts in the thread',
    );
    expect(leftOut).toMatch(/sev-dc-01.*exclusion list/);
    expect(leftOut).toMatch(/sev-out-01.*isolated outside hostlock/);
    // one audit row per host, each naming the request
    const audit = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events
      where action = 'lockdown.requested' and details->>'requestId' = ${requestId}`;
    expect(audit[0]?.n).toBe(2);
  });

  it('the requester cannot approve it: refused, audited, nothing moves', async () => {
    const from = h.slack.responses.length;
    await clickRequest(ActionId.lockdownApprove, requestId, ALICE, rows);
    const refusal = await h.slack.waitForResponse((p) => h.slack.responses.indexOf(p) >= from);
    expect(allText(refusal.body)).toMatch(/own request/);
    expect((await ofRequest(requestId)).every((r) => r.state === 'pending_approval')).toBe(true);
    expect(isolatePosts(m['sev-web-01']?.id ?? '')).toBe(0);
  });

  it('a click naming one host of the request (a forged value) is the request’s decision: the requester is still refused', async () => {
    // an old-style click on one lockdown: the request is decided as one, with the same checks
    const from = h.slack.responses.length;
    const forged = await h.signer.blockAction({
      userId: ALICE,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(rows[1]?.id ?? ''),
      value: rows[1]?.id ?? '',
      channelId: APPROVER_CHANNEL,
    });
    expect(forged.status).toBe(200);
    const refusal = await h.slack.waitForResponse((p) => h.slack.responses.indexOf(p) >= from);
    expect(allText(refusal.body)).toMatch(/own request/);
    expect((await ofRequest(requestId)).every((r) => r.state === 'pending_approval')).toBe(true);
    const denials = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events
      where actor = ${`slack:${ALICE}`} and outcome = 'denied' and details->>'rule' = 'self_approval'`;
    expect(denials[0]?.n).toBeGreaterThanOrEqual(1); // repeats within a minute are counted on the first row
  });

  it('a button whose block names another request is refused and changes nothing', async () => {
    const from = h.slack.responses.length;
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: requestBlockId('req_0000000000000000'),
      value: requestId,
      channelId: APPROVER_CHANNEL,
    });
    const r = await h.slack.waitForResponse((p) => h.slack.responses.indexOf(p) >= from);
    expect(allText(r.body)).toMatch(/does not name a lockdown/);
    expect((await ofRequest(requestId)).every((x) => x.state === 'pending_approval')).toBe(true);
  });

  it('one Approve isolates every host once; each host’s outcome is told in the thread', async () => {
    const web2 = m['sev-web-02']?.id ?? '';
    // Defender refuses this one host's isolation (an error that is not retried)
    h.mde.inject({
      method: 'POST',
      path: new RegExp(`/machines/${web2}/isolate$`),
      status: 400,
      code: 'InvalidRequest',
      times: 10,
    });
    await Promise.all([
      clickRequest(ActionId.lockdownApprove, requestId, BOB, rows),
      clickRequest(ActionId.lockdownApprove, requestId, BOB, rows), // Slack may deliver a click twice
      // and a click naming one of its hosts decides the request, once
      h.signer.blockAction({
        userId: BOB,
        actionId: ActionId.lockdownApprove,
        blockId: lockdownBlockId(rows[0]?.id ?? ''),
        value: rows[0]?.id ?? '',
        channelId: APPROVER_CHANNEL,
      }),
    ]);
    const done = await until(
      async () => {
        const now = await ofRequest(requestId);
        return now.some((r) => r.state === 'active') && now.some((r) => r.state === 'failed') ? now : null;
      },
      'one host active, the other failed',
      15_000,
      () => h.mde.advanceActions(),
    );
    expect(done.map((r) => [r.hostName, r.state, r.approvedBy])).toEqual([
      ['sev-web-01.contoso.com', 'active', `slack:${BOB}`],
      ['sev-web-02.contoso.com', 'failed', `slack:${BOB}`],
    ]);
    expect(isolatePosts(m['sev-web-01']?.id ?? '')).toBe(1);
    const approvals = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events a join lockdowns l on l.id = a.target_id
      where l.request_id = ${requestId} and a.action = 'lockdown.approved'`;
    expect(approvals[0]?.n).toBe(2); // one per host, from one click
    const replies = await until(() => {
      const t = threadReplies(done);
      return t.some((x) => /sev-web-01\.contoso\.com` is isolated/.test(x)) &&
        t.some((x) => /lockdown of `sev-web-02\.contoso\.com` failed/.test(x))
        ? t
        : null;
    }, 'each host’s outcome in the thread');
    expect(replies.filter((t) => /^Approved by/.test(t))).toHaveLength(1);
    // the root lists each host with its own state, and offers to stop what is running
    const root = await until(
      () =>
        h.slack.calls
          .filter((c) => c.method === 'chat.update' && c.args.ts === done[0]?.approvalTs)
          .map((c) => JSON.stringify(c.args.blocks))
          .find((b) => /isolated, ends/.test(b) && /failed/.test(b)),
      'the root with both outcomes',
    );
    expect(root).toContain('Stop / unlock all');
  });

  it('Stop / unlock all releases every open lockdown of the request; an analyst’s click changes nothing', async () => {
    const now = await ofRequest(requestId);
    const from = h.slack.responses.length;
    await clickRequest(ActionId.lockdownUnlock, requestId, CAROL, now);
    await h.slack.waitForResponse(
      (p) => h.slack.responses.indexOf(p) >= from && /lockdown:edit/.test(allText(p.body)),
    );
    expect((await ofRequest(requestId)).find((r) => r.hostName.startsWith('sev-web-01'))?.state).toBe(
      'active',
    );
    await clickRequest(ActionId.lockdownUnlock, requestId, BOB, now);
    const released = await untilAll(requestId, 'released', 1);
    expect(released.find((r) => r.state === 'released')?.releasedBy).toBe(`slack:${BOB}`);
  });

  it('refuses a requester without lockdown:edit, and more hosts than the limit unless an admin asks', async () => {
    const count = async () =>
      (await h.db.sql<{ n: number }[]>`select count(*)::int as n from lockdowns`)[0]?.n;
    const before = await count();
    const analyst = await lockVia('lock sev-x-01 sev-x-02 1h', CAROL);
    expect(analyst.answer).toMatch(/lockdown:edit/);
    const five = 'sev-web-01 sev-web-02 sev-web-03 sev-x-01 sev-x-02';
    const tooMany = await lockVia(`lock ${five} 1h`, ALICE);
    expect(tooMany.answer).toMatch(/more hosts than one request may \(4 at most/);
    expect(await count()).toBe(before);
    const refusal = await h.db.sql<{ details: { rule?: string; hosts?: number } }[]>`
      select details from audit_events where actor = ${`slack:${ALICE}`} and outcome = 'denied' order by id desc limit 1`;
    expect(refusal[0]?.details).toMatchObject({ rule: 'hosts_per_request', hosts: 5 });
    const admin = await lockVia(`lock ${five} 1h incident`, ADA);
    expect(admin.requestId, admin.answer).toMatch(/^req_/);
    expect((await ofRequest(admin.requestId ?? '')).length).toBe(5);
  });

  it('the request expires as one: one note in the thread for every host still waiting', async () => {
    // (the admin's request above is still pending; a host withdrawn from it stays withdrawn)
    const [id] = (
      await h.db.sql<{ request_id: string }[]>`
        select request_id from lockdowns where requested_by = ${`slack:${ADA}`} and request_id is not null limit 1`
    ).map((r) => r.request_id);
    const rows = await ofRequest(id ?? '');
    const withdraw = await h.slash(`unlock ${rows[0]?.hostName} not this one`, { as: ADA });
    expect(withdraw.status).toBe(200);
    await untilAll(id ?? '', 'withdrawn', 1);
    await h.db
      .sql`update lockdowns set created_at = now() - interval '2 hours', next_check_at = now() where request_id = ${id ?? ''}`;
    await h.app.lockdownJobs.sweep();
    const after = await untilAll(id ?? '', 'approval_expired', 4);
    expect(after.filter((r) => r.state === 'withdrawn')).toHaveLength(1);
    const expired = await until(
      () => threadReplies(after).filter((t) => /request expired/.test(t)),
      'the expiry note',
      5_000,
    ).then((t) => (t.length ? t : null));
    expect(expired).toHaveLength(1);
    const events = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from audit_events a join lockdowns l on l.id = a.target_id
      where l.request_id = ${id ?? ''} and a.action = 'lockdown.approval_expired'`;
    expect(events[0]?.n).toBe(4);
  });
});

describe('naming hosts in a list', () => {
  it('takes each word before the duration as a host named in full: a word that only begins a name is left out, not locked', async () => {
    const { requestId: id, answer } = await lockVia('lock sev-x-01 sev-out 1h', BOB);
    // `sev-out` begins only sev-out-01's name: in a list it is refused, never taken as that host
    expect(answer).toMatch(/sev-out.*named exactly that/);
    expect(answer).toMatch(/Request `req_\w+` to lock 1 host for 1 h/);
    const rows = await ofRequest(id ?? '');
    expect(rows.map((r) => r.hostName)).toEqual(['sev-x-01.contoso.com']);
    await clickRequest(ActionId.lockdownUnlock, id ?? '', BOB, rows);
    await untilAll(id ?? '', 'withdrawn', 1);
  });

  it('two requests naming the same hosts in opposite orders, at once: one gets them, the other is told, neither fails', async () => {
    const names = ['sev-web-01', 'sev-web-02', 'sev-web-03', 'sev-x-01', 'sev-x-02'].map(
      (n) => `${n}.contoso.com`,
    );
    const post = (hosts: string[]) =>
      fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hosts: hosts.slice(0, 4), duration: '1h', reason: 'race' }),
      });
    const deadlocks = async () =>
      (
        await h.db.sql<
          { n: number }[]
        >`select deadlocks::int as n from pg_stat_database where datname = current_database()`
      )[0]?.n ?? 0;
    const before = await deadlocks();
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([post(names), post([...names].reverse())]);
      for (const res of [a, b]) {
        expect([202, 409]).toContain(res.status);
      }
      // clean up: withdraw whatever was requested
      const open = await h.db.sql<{ id: string }[]>`
        select id from lockdowns where reason = 'race' and state = 'pending_approval'`;
      for (const { id } of open) {
        await store().transition(id, 'withdraw', { nextCheckAt: null }, { actor: 'system:test' });
      }
    }
    expect(await deadlocks()).toBe(before);
  });
});

describe('moving a request’s hosts together', () => {
  it('the engine never waits for a host another transaction holds (no deadlock with a click): busy, nothing moved', async () => {
    const { requestId } = await lockVia('lock sev-x-02 sev-web-03 1h', BOB);
    const rows = await ofRequest(requestId ?? '');
    expect(rows).toHaveLength(2);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    // a click's transaction holding the second host
    const clicking = h.db.sql.begin(async (tx) => {
      await tx`select id from lockdowns where id = ${rows[1]?.id ?? ''} for update`;
      locked();
      await held;
    });
    await isLocked;
    const r = await store().transitionRequest(
      requestId ?? '',
      'expire_request',
      { nextCheckAt: null },
      { actor: 'system:test' },
      { nowait: true },
    );
    expect(r).toBe('busy');
    release();
    await clicking;
    expect((await ofRequest(requestId ?? '')).map((x) => x.state)).toEqual([
      'pending_approval',
      'pending_approval',
    ]);
    // withdrawn by hand, host by host, as their requester
    await clickRequest(ActionId.lockdownUnlock, requestId ?? '', BOB, rows);
    await untilAll(requestId ?? '', 'withdrawn', 2);
  });
});

describe('the hosts-per-request setting', () => {
  it('is edited in the modal within 1–100; anything else is refused and changes nothing', async () => {
    for (const bad of ['0', '101', '20.5', 'many']) {
      const r = await submitSettings(h, ADA, {
        ...settingsForm({ auto_exclusions: 'sev-dc-*', syslog_targets: null }),
        hosts_per_request: { value: { type: 'number_input', value: bad } },
      });
      expect(r.errors?.hosts_per_request, bad).toBeTruthy();
      expect((await readSettingsVersioned(h.db.db)).settings.hostsPerRequest).toBe(4);
    }
    const ok = await submitSettings(h, ADA, {
      ...settingsForm({ auto_exclusions: 'sev-dc-*', syslog_targets: null }),
      hosts_per_request: { value: { type: 'number_input', value: '4' } },
    });
    expect(ok.errors).toBeUndefined();
    expect((await readSettingsVersioned(h.db.db)).settings.hostsPerRequest).toBe(4);
  });
});

describe('REST: { "hosts": [...] }', () => {
  const post = (body: unknown) =>
    fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('one request for the hosts; a host named twice (by name and by IP) is one lockdown, the other left out', async () => {
    const res = await post({
      hosts: [
        'sev-x-01.contoso.com',
        m['sev-x-01']?.lastIpAddress,
        'sev-web-03.contoso.com',
        'sev-dc-01.contoso.com',
      ],
      duration: '2h',
      reason: 'from the SIEM',
    });
    const body = (await res.json()) as {
      request_id: string;
      lockdowns: Array<{ host_name: string; request_id: string; state: string }>;
      left_out: Array<{ host: string; error: { code: string } }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(202);
    expect(body.request_id).toMatch(/^req_/);
    expect(body.lockdowns.map((l) => [l.host_name, l.request_id, l.state])).toEqual([
      ['sev-x-01.contoso.com', body.request_id, 'pending_approval'],
      ['sev-web-03.contoso.com', body.request_id, 'pending_approval'],
    ]);
    expect(body.left_out.map((x) => [x.host, x.error.code])).toEqual([
      [m['sev-x-01']?.lastIpAddress, 'duplicate'],
      ['sev-dc-01.contoso.com', 'excluded'],
    ]);
  });

  it('refuses host and hosts together, and an empty or oversized list', async () => {
    for (const body of [
      { host: 'sev-x-02', hosts: ['sev-x-02'], duration: '1h' },
      { hosts: [], duration: '1h' },
      { hosts: Array.from({ length: 101 }, (_, i) => `h-${i}`), duration: '1h' },
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
    }
    // one hostile entry (a control character, markup) refuses the whole list, naming the entry
    const hostile = await post({ hosts: ['sev-x-02.contoso.com', 'web\u0000<!here>'], duration: '1h' });
    expect(hostile.status).toBe(400);
    const said = (await hostile.json()) as { error: { code: string; message: string } };
    expect(said.error.code).toBe('bad_host');
    expect(said.error.message).toMatch(/^hosts\.1:/);
    const five = await post({ hosts: ['a-1', 'a-2', 'a-3', 'a-4', 'a-5'], duration: '1h' });
    expect(five.status).toBe(400);
    expect(((await five.json()) as { error: { code: string } }).error.code).toBe('too_many_hosts');
  });

  it('nothing lockable: 409 with each host’s reason; made-up names spend the token’s lookup quota, never more', async () => {
    const asked = () =>
      h.mde.requests.filter((r) => /\/machines(\?|$)/.test(r.path) || /\/machines\?/.test(r.path)).length;
    const before = h.mde.requests.length;
    const res = await post({ hosts: ['ghost-1', 'ghost-2', 'ghost-3', 'ghost-4'], duration: '1h' });
    expect(res.status).toBe(409);
    const body = (await res.json()) as {
      error: { code: string; left_out: Array<{ error: { code: string } }> };
    };
    expect(body.error.code).toBe('nothing_to_lock');
    expect(body.error.left_out.map((x) => x.error.code)).toEqual([
      'not_found',
      'not_found',
      'not_found',
      'not_found',
    ]);
    const again = await post({ hosts: ['ghost-5', 'ghost-6', 'ghost-7', 'ghost-8'], duration: '1h' });
    const codes = ((await again.json()) as typeof body).error.left_out.map((x) => x.error.code);
    // the quota (6 lookups a minute) is spent after two of these: the rest are not asked
    expect(codes.filter((c) => c === 'defender_failed').length).toBeGreaterThanOrEqual(2);
    const lookups = h.mde.requests.slice(before).filter((r) => r.method === 'GET' && /machines/.test(r.path));
    expect(lookups.length).toBeLessThanOrEqual(6 * 2); // each lookup: the machine, and its actions
    void asked;
  });
});

import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import type { SignedResponse, Tamper } from '../fakes/slack-signer.js';
import {
  APPROVER_CHANNEL,
  allText,
  bootHarness,
  type Harness,
  SIGNING_SECRET,
  until,
} from '../helpers/harness.js';
import { countBy, percentile, pool, quiescent } from './helpers.js';

// Issue #9, reliability.md §9.3: S4 (a captured request replayed inside the 5-minute window has
// exactly one effect), the parts of S1/S3 that test/integration/process.test.ts does not cover, and
// S5 (an Events API retry while the first delivery is still being processed).

const ALICE = 'U0ALICE001'; // requester
const BOB = 'U0BOB00001'; // approver
const REPLAYS = 1_000;
const CONCURRENCY = 20;

let h: Harness;

const isolatePosts = (machineId: string) =>
  h.mde.requests.filter(
    (r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/isolate`) && r.status === 201,
  ).length;

async function audits(lockdownId: string, action: string): Promise<number> {
  const [r] = await h.db.sql<{ n: number }[]>`
    select count(*)::int as n from audit_events where target_id = ${lockdownId} and action = ${action}`;
  return r?.n ?? 0;
}

async function lockdownsOf(machineId: string): Promise<Lockdown[]> {
  const rows = await h.db.sql<{ id: string }[]>`select id from lockdowns where machine_id = ${machineId}`;
  const store = lockdownStore(h.db.db);
  return (await Promise.all(rows.map((r) => store.get(r.id)))).filter((l): l is Lockdown => !!l);
}

function machine(name: string) {
  const m = h.mde.machine({ computerDnsName: name, osPlatform: 'Windows11' });
  h.mde.addMachines([m]);
  return m;
}

/** Sends `first.request` again, byte for byte, until `total` deliveries were made (first included). */
async function replay(first: SignedResponse, total: number): Promise<SignedResponse[]> {
  const again = await pool(Array.from({ length: total - 1 }), CONCURRENCY, () =>
    h.signer.resend(first.request),
  );
  return [first, ...again];
}

/** Posts received on the response_url of `r` (the sink id is its last path segment). */
const postsTo = (r: SignedResponse) => {
  const id = r.responseUrl?.split('/').at(-1);
  return h.slack.responses.filter((p) => p.id === id);
};

function figures(deliveries: SignedResponse[]) {
  const statuses = countBy(deliveries, (r) => r.status);
  const fivexx = deliveries.filter((r) => r.status >= 500).length;
  const p99 = percentile(
    deliveries.map((r) => r.elapsedMs),
    99,
  );
  return { statuses, fivexx, p99 };
}

async function requestVia(text: string, as: string): Promise<Lockdown> {
  const r = await h.slash(text, { as });
  expect(r.status).toBe(200);
  const answer = await until(async () => postsTo(r)[0], `the answer to ${text}`);
  const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
  const l = await lockdownStore(h.db.db).get(id);
  if (!l) {
    throw new Error(`no lockdown in ${allText(answer.body)}`);
  }
  return l;
}

const click = (actionId: string, l: Lockdown, userId: string, o: { option?: string; tamper?: Tamper } = {}) =>
  h.signer.blockAction(
    {
      userId,
      actionId,
      blockId: lockdownBlockId(l.id),
      ...(o.option ? { selectedOption: o.option } : { value: l.id }),
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    },
    o.tamper,
  );

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  await h.settings({ approver_channel: APPROVER_CHANNEL, approval_required: true });
});
afterAll(() => h.close());
beforeEach(() => h.settings({ approval_required: true }));

describe('S4: a captured request replayed inside the 5-minute window', () => {
  it(`a /hostlock lock replayed ${REPLAYS} times makes one lockdown; the others are told it exists`, {
    timeout: 90_000,
  }, async () => {
    const m = machine('replay-lock-01.contoso.com');
    await h.app.hostsSync.run();
    const started = performance.now();
    const first = await h.slash('lock replay-lock-01 1h replayed capture', { as: ALICE });
    const all = await replay(first, REPLAYS);
    const f = figures(all);
    expect(f.fivexx).toBe(0);
    expect(f.statuses).toEqual({ 200: REPLAYS });
    expect(first.json()).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringMatching(/Requesting/),
    });
    // Deliveries acked like the first were run as commands: each answers once more on the response_url
    // (Slack takes 5 posts, the rest get 404). Any other ack is a replay refused up front (ephemeral).
    const ran = all.filter((r) => r.text === first.text).length;
    const refused = all.filter((r) => r.text !== first.text);
    expect(
      refused.filter((r) => (r.json() as { response_type?: string }).response_type !== 'ephemeral'),
    ).toEqual([]);
    const answers = await until(
      async () => {
        const got = postsTo(first).filter((p) => !/could not finish/.test(allText(p.body)));
        return got.length >= ran ? got : null;
      },
      `${ran} follow-up answers`,
      60_000,
    );
    const created = answers.filter((p) => /Lockdown `lck_/.test(allText(p.body)));
    const exists = answers.filter((p) => /already has an open lockdown/.test(allText(p.body)));
    expect(created).toHaveLength(1);
    expect(exists).toHaveLength(ran - 1);
    const rows = await lockdownsOf(m.id);
    expect(rows).toHaveLength(1);
    const l = rows[0] as Lockdown;
    expect(await audits(l.id, 'lockdown.requested')).toBe(1);
    const roots = h.slack
      .callsTo('chat.postMessage')
      .filter(
        (c) =>
          c.args.channel === APPROVER_CHANNEL && !c.args.thread_ts && allText(c.args.blocks).includes(l.id),
      );
    expect(roots).toHaveLength(1);
    expect(isolatePosts(m.id)).toBe(0);
    console.log(
      `S4 replay (slash lock): ${REPLAYS} deliveries → ${rows.length} lockdown, ${exists.length} told "already open", ${refused.length} refused as replays, ` +
        `${f.fivexx} 5xx, statuses ${JSON.stringify(f.statuses)}, ack p99 ${f.p99.toFixed(0)} ms, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(f.p99).toBeLessThan(3_000);
  });

  it(`an Approve click replayed ${REPLAYS} times approves once and isolates once`, {
    timeout: 90_000,
  }, async () => {
    const m = machine('replay-approve-01.contoso.com');
    const l = await requestVia('lock replay-approve-01 1h', ALICE);
    const started = performance.now();
    const first = await click(ActionId.lockdownApprove, l, BOB);
    const all = await replay(first, REPLAYS);
    const f = figures(all);
    expect(f.fivexx).toBe(0);
    expect(f.statuses).toEqual({ 200: REPLAYS });
    await until(async () => isolatePosts(m.id) === 1, 'the isolate call');
    // a losing delivery answers "already decided" (Slack takes 5 posts); a refused replay says nothing
    await quiescent(() => postsTo(first).length);
    expect(postsTo(first).every((p) => /already decided/.test(allText(p.body)))).toBe(true);
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(async () => (await lockdownStore(h.db.db).get(l.id))?.state === 'active', 'active');
    const approvals = await audits(l.id, 'lockdown.approved');
    expect(approvals).toBe(1);
    expect(isolatePosts(m.id)).toBe(1);
    console.log(
      `S4 replay (approve click): ${REPLAYS} deliveries → ${approvals} approval, ${isolatePosts(m.id)} isolate POST, ` +
        `${f.fivexx} 5xx, ack p99 ${f.p99.toFixed(0)} ms, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(f.p99).toBeLessThan(3_000);
  });

  it('an Extend click replayed 200 times extends once', async () => {
    await h.settings({ approval_required: false });
    const m = machine('replay-extend-01.contoso.com');
    const l = await requestVia('lock replay-extend-01 1h', ALICE);
    await until(async () => isolatePosts(m.id) === 1, 'the isolate call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    const active = await until(async () => {
      const x = await lockdownStore(h.db.db).get(l.id);
      return x?.state === 'active' ? x : null;
    }, 'active');
    const first = await click(ActionId.lockdownExtend, active, BOB, { option: '4h' });
    const all = await replay(first, 200);
    expect(figures(all).fivexx).toBe(0);
    // every delivery extended (no answer), was answered with a refusal, or was dropped as a replay
    await quiescent(async () => (await audits(l.id, 'lockdown.extended')) + postsTo(first).length);
    const extended = await audits(l.id, 'lockdown.extended');
    const after = await lockdownStore(h.db.db).get(l.id);
    const movedHours = ((after?.expiresAt?.getTime() ?? 0) - (active.expiresAt?.getTime() ?? 0)) / 3_600_000;
    console.log(
      `S4 replay (extend click): 200 deliveries → ${extended} extensions, end moved by ${movedHours} h`,
    );
    expect({ extended, movedHours }).toEqual({ extended: 1, movedHours: 4 });
  });

  it('a lock replayed after its lockdown was denied locks nothing new', async () => {
    const m = machine('replay-deny-01.contoso.com');
    const first = await h.slash('lock replay-deny-01 1h captured', { as: ALICE });
    const l = await until(async () => (await lockdownsOf(m.id))[0], 'the lockdown');
    await click(ActionId.lockdownDeny, (await lockdownStore(h.db.db).get(l.id)) as Lockdown, BOB);
    await until(async () => (await lockdownStore(h.db.db).get(l.id))?.state === 'denied', 'denied');
    const again = await h.signer.resend(first.request); // 1 s later, well inside the 5-minute window
    expect(again.status).toBe(200);
    await quiescent(async () => postsTo(first).length + (await lockdownsOf(m.id)).length);
    const rows = await lockdownsOf(m.id);
    console.log(`S4 replay after deny: ${rows.length} lockdowns (${rows.map((r) => r.state).join(', ')})`);
    expect(rows.length).toEqual(1);
  });
});

describe('S1/S3: what process.test.ts does not already refuse', () => {
  it('refuses a v1 digest, a bare digest, a lone signature or timestamp, and odd timestamps: 401, opaque, no effect', async () => {
    const m = machine('forged-01.contoso.com');
    await h.app.hostsSync.run();
    const probe = await h.slash('help', { as: ALICE }); // a real request, to borrow its URL and shape
    const body = probe.request.body.replace('text=help', 'text=lock+forged-01+1h+forged');
    const now = Math.floor(Date.now() / 1000);
    const sig = (ts: string) => h.signer.sign(body, Number(ts)).signature;
    const good = { ts: String(now), sig: sig(String(now)) };
    // the digest for a literal timestamp string, as a forger holding the secret would compute it
    const hmacOf = (ts: string) =>
      `v0=${createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    const hex = `0x${now.toString(16)}`;
    const cases: Array<[string, string | null, string | null]> = [
      ['v1= version', good.ts, good.sig.replace('v0=', 'v1=')],
      ['no version prefix', good.ts, good.sig.slice(3)],
      ['upper-case V0=', good.ts, `V0=${good.sig.slice(3)}`],
      ['empty signature', good.ts, ''],
      ['signature header missing', good.ts, null],
      ['timestamp header missing', null, good.sig],
      ['non-numeric timestamp', 'abc', hmacOf('abc')],
      ['fractional timestamp', `${now}.5`, hmacOf(`${now}.5`)],
      ['signed timestamp', `+${now}`, hmacOf(`+${now}`)],
      ['negative timestamp', '-1', hmacOf('-1')],
      ['hex timestamp', hex, hmacOf(hex)],
    ];
    const headers = (ts: string | null, signature: string | null) => ({
      'content-type': 'application/x-www-form-urlencoded',
      ...(ts === null ? {} : { 'x-slack-request-timestamp': ts }),
      ...(signature === null ? {} : { 'x-slack-signature': signature }),
    });
    const calls = h.slack.calls.length;
    const results: string[] = [];
    for (const [what, ts, signature] of cases) {
      const r = await h.signer.resend({ url: probe.request.url, headers: headers(ts, signature), body });
      results.push(`${what}: ${r.status}`);
      expect(r.status, what).toBe(401);
      expect(r.text, what).toBe('');
    }
    expect(await lockdownsOf(m.id)).toEqual([]);
    expect(h.slack.calls.slice(calls)).toEqual([]);
    // control: the same body with good headers is accepted, so each 401 above was about its headers
    const control = await h.signer.resend({
      url: probe.request.url,
      headers: headers(good.ts, good.sig),
      body,
    });
    expect(control.status).toBe(200);
    await until(async () => (await lockdownsOf(m.id)).length === 1, 'the control lockdown');
    console.log(
      `S1/S3: ${cases.length} forged requests → 401 each, no lockdown, no Slack call (${results.join('; ')})`,
    );
  });

  it('a flipped byte in an Approve click is refused and approves nothing', async () => {
    const m = machine('flip-01.contoso.com');
    const l = await requestVia('lock flip-01 1h', ALICE);
    const r = await click(ActionId.lockdownApprove, l, BOB, { tamper: { flipBodyByte: true } });
    expect(r.status).toBe(401); // refused before any listener ran: nothing can follow
    expect((await lockdownStore(h.db.db).get(l.id))?.state).toBe('pending_approval');
    expect(await audits(l.id, 'lockdown.approved')).toBe(0);
    expect(isolatePosts(m.id)).toBe(0);
  });
});

describe('S5: an Events API retry while the first delivery is still processing', () => {
  it('app_home_opened and its http_timeout retry publish the Home view once', async () => {
    const USER = 'U0HOME0001';
    const eventId = 'Ev0S5RETRY01';
    const publishes = () => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === USER).length;
    const [a, b] = await Promise.all([
      h.signer.appHomeOpened({ userId: USER, eventId }),
      h.signer.appHomeOpened({ userId: USER, eventId }, { retryNum: 1, retryReason: 'http_timeout' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await until(async () => publishes() >= 1, 'the Home view');
    // the retry was refused before its ack (event_id already claimed); a later event for someone
    // else, published after it, shows the queue behind it has drained
    await h.signer.appHomeOpened({ userId: 'U0HOMEMARK' });
    await until(
      async () => h.slack.callsTo('views.publish').some((c) => c.args.user_id === 'U0HOMEMARK'),
      'the marker',
    );
    console.log(`S5 event retry: 2 deliveries of ${eventId} → ${publishes()} views.publish`);
    expect(publishes()).toEqual(1);
  });
});

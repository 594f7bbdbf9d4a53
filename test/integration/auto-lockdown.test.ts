import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiScope } from '../../src/core/api-tokens/tokens.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken, revokeApiToken } from '../helpers/tokens.js';

const PATH = '/api/v2.1/host/scores';
const ADMIN = 'U0ADMIN001';

let h: Harness;
let scoresToken: string;
let lockToken: string;
let revokedToken: string;

interface ScoreAnswer {
  accepted: number;
  rejected: number;
  results: Array<{
    index: number;
    status: string;
    message?: string;
    machine_id?: string;
    auto?: { outcome: string; lockdown_id?: string };
  }>;
}

async function token(name: string, scopes: ApiScope[]): Promise<string> {
  const t = await createApiToken(h.app.store, { name, scopes });
  if (t === 'name_taken') {
    throw new Error(`token ${name} exists`);
  }
  return t.token;
}

function post(body: unknown, auth: string | null = `Bearer ${scoresToken}`) {
  return fetch(h.app.url + PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(body),
  });
}

async function scores(body: unknown): Promise<ScoreAnswer> {
  const res = await post(body);
  expect(res.status).toBe(200);
  return (await res.json()) as ScoreAnswer;
}

const score = (host: string, over: Record<string, unknown> = {}) => ({
  host,
  threat: 95,
  certainty: 90,
  privilege: 8,
  computed_at: new Date().toISOString(),
  ...over,
});

/** Machines known to Defender and synced into the local inventory (scores are matched locally). */
async function machines(names: string[], extra: Record<string, unknown> = {}) {
  const ms = names.map((n) => h.mde.machine({ computerDnsName: n, osPlatform: 'Windows11', ...extra }));
  h.mde.addMachines(ms);
  expect((await h.app.hostsSync.run()).status).toBe('ok');
  return ms;
}

const isolatePosts = (machineId: string) =>
  h.mde.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/isolate`))
    .length;

async function count(sql: string, ...params: unknown[]): Promise<number> {
  const rows = await h.db.sql.unsafe<{ n: number }[]>(sql, params as never[]);
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('admin', ADMIN);
  h.slack.addChannel({ id: 'C0ALERTS02', name: 'sec-alerts', isMember: true });
  await h.settings({ approver_channel: APPROVER_CHANNEL, alert_channels: ['C0ALERTS02'] });
  // this feed also reads lockdowns, so its answers name the machine and the lockdown
  scoresToken = await token('feed', ['scores:write', 'lockdown:view']);
  lockToken = await token('locker', ['lockdown:view', 'lockdown:edit']);
  revokedToken = await token('old-feed', ['scores:write']);
  await revokeApiToken(h.app.store, { name: 'old-feed' });
});
afterAll(() => h.close());
beforeEach(async () => {
  await h.settings({
    auto_enabled: true,
    auto_dry_run: false,
    approval_required: false,
    auto_minutes: 240,
    threshold_threat: 80,
    threshold_certainty: 80,
    threshold_privilege: 7,
    thresholds_saved_at: new Date(Date.now() - 3_600_000).toISOString(),
    auto_exclusions: [],
    auto_hourly_cap: 1000,
  });
});

describe('POST /api/v2.1/host/scores: who may send', () => {
  it.each([
    ['no token', null, 401],
    ['a wrong token', 'Bearer hlk_not-a-real-token-0000000000000000', 401],
    ['a revoked token', () => `Bearer ${revokedToken}`, 401],
    ['a token without scores:write', () => `Token ${lockToken}`, 403],
  ])('refuses %s', async (_what, auth, status) => {
    const res = await post(score('nobody'), typeof auth === 'function' ? auth() : auth);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(await count(`select count(*)::int as n from host_scores`)).toBe(0);
  });
});

describe('scores over the thresholds', () => {
  it('lock the host once, as system:auto, with the rule in the audit and the scores on the lockdown', async () => {
    const [m] = await machines(['auto-01.contoso.com']);
    const first = await scores(score('auto-01.contoso.com'));
    expect(first.results[0]).toMatchObject({
      status: 'accepted',
      machine_id: m?.id,
      auto: { outcome: 'locked' },
    });
    const again = await scores([score('auto-01'), score(m?.id ?? '', { threat: 99 })]);
    expect(again.results.map((r) => r.auto?.outcome)).toEqual(['already_locked', 'already_locked']);
    const id = first.results[0]?.auto?.lockdown_id ?? '';
    await until(async () => isolatePosts(m?.id ?? '') === 1, 'the isolate call');
    const [l] = await h.db.sql<{ source: string; requested_by: string; trigger: { threat: number } }[]>`
      select source, requested_by, trigger from lockdowns where id = ${id}`;
    expect(l).toMatchObject({ source: 'auto', requested_by: 'system:auto', trigger: { threat: 95 } });
    const [a] = await h.db.sql<{ details: { rule: unknown } }[]>`
      select details from audit_events where target_id = ${id} and action = 'lockdown.requested'`;
    expect(a?.details.rule).toMatchObject({
      threat: 95,
      thresholds: { threat: 80, certainty: 80, privilege: 7 },
    });
    expect(await count(`select count(*)::int as n from host_scores where machine_id = $1`, m?.id)).toBe(3);

    const list = await h.slash('list', { as: ADMIN });
    expect(list.status).toBe(200);
    const rule = /automatic: threat 95 \(≥ 80\) · certainty 90 \(≥ 80\) · privilege 8 \(≥ 7\)/;
    expect(allText(list.json())).toMatch(rule);
    const card = await h.slash('lookup auto-01.contoso.com', { as: ADMIN });
    expect(allText(card.json())).toMatch(rule);
  });

  it('leave hosts below any one threshold alone', async () => {
    await machines(['auto-low-01.contoso.com']);
    const r = await scores([
      score('auto-low-01', { threat: 79 }),
      score('auto-low-01', { certainty: 10 }),
      score('auto-low-01', { privilege: 6 }),
    ]);
    expect(r.results.map((x) => x.auto?.outcome)).toEqual([
      'below_threshold',
      'below_threshold',
      'below_threshold',
    ]);
  });

  it('computed before the thresholds were saved are not judged by the new ones', async () => {
    const [m] = await machines(['auto-old-01.contoso.com']);
    const saved = new Date();
    await h.settings({ threshold_threat: 50, thresholds_saved_at: saved.toISOString() });
    const before = new Date(saved.getTime() - 60_000).toISOString();
    const r1 = await scores(score('auto-old-01', { threat: 60, computed_at: before }));
    expect(r1.results[0]?.auto?.outcome).toBe('before_thresholds');
    expect(isolatePosts(m?.id ?? '')).toBe(0);
    const after = new Date(saved.getTime() + 1_000).toISOString();
    const r2 = await scores(score('auto-old-01', { threat: 60, computed_at: after }));
    expect(r2.results[0]?.auto?.outcome).toBe('locked');
  });

  it('never lock an excluded host (name or tag) and announce it once', async () => {
    await machines(['dc-auto-01.contoso.com']);
    await machines(['crit-auto-01.contoso.com'], { machineTags: ['critical'] });
    await h.exclude(['dc-*', 'tag:critical']);
    const r = await scores([score('dc-auto-01'), score('crit-auto-01'), score('dc-auto-01')]);
    expect(r.results.map((x) => x.auto?.outcome)).toEqual(['excluded', 'excluded', 'excluded']);
    expect(
      await count(`select count(*)::int as n from lockdowns where host_name like '%-auto-01.contoso.com'`),
    ).toBe(0);
    expect(await count(`select count(*)::int as n from audit_events where action = 'auto.suppressed'`)).toBe(
      3,
    );
    expect(await count(`select count(*)::int as n from outbox where event = 'auto.suppressed'`)).toBe(2);
  });

  it('never lock a host isolated outside hostlock', async () => {
    const [m] = await machines(['ext-auto-01.contoso.com']);
    h.mde.addAction({
      machineId: m?.id ?? '',
      type: 'Isolate',
      status: 'Succeeded',
      requestor: 'soc@contoso.com',
    });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const r = await scores(score('ext-auto-01'));
    expect(r.results[0]?.auto?.outcome).toBe('isolated_outside');
    expect(isolatePosts(m?.id ?? '')).toBe(0);
  });

  it('go to the approvers when settings require approval', async () => {
    await machines(['appr-auto-01.contoso.com']);
    await h.settings({ approval_required: true });
    const r = await scores(score('appr-auto-01'));
    expect(r.results[0]?.auto?.outcome).toBe('pending_approval');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === APPROVER_CHANNEL && /appr-auto-01/.test(JSON.stringify(c.args)),
    );
  });

  it('in dry run are recorded and announced, and isolate nothing', async () => {
    const [m] = await machines(['dry-auto-01.contoso.com']);
    await h.settings({ auto_dry_run: true });
    const r = await scores([score('dry-auto-01'), score('dry-auto-01')]);
    expect(r.results.map((x) => x.auto?.outcome)).toEqual(['dry_run', 'dry_run']);
    expect(await count(`select count(*)::int as n from lockdowns where machine_id = $1`, m?.id)).toBe(0);
    expect(isolatePosts(m?.id ?? '')).toBe(0);
    const alert = await h.slack.waitForCall(
      'chat.postMessage',
      (c) =>
        c.args.channel === 'C0ALERTS02' && /dry run: would have locked for 4 h/.test(String(c.args.text)),
    );
    expect(String(alert.args.text)).toContain('dry-auto-01');
  });
});

describe('a flood of qualifying scores', () => {
  it('locks exactly the hourly cap, even from concurrent requests, and announces the rest once', async () => {
    const names = Array.from({ length: 500 }, (_, i) => `flood-${String(i).padStart(3, '0')}.contoso.com`);
    await machines(names);
    const already = await count(
      `select count(*)::int as n from lockdowns where source = 'auto' and created_at > now() - interval '1 hour'`,
    );
    await h.settings({ auto_hourly_cap: already + 5 });
    const batches = Array.from({ length: 5 }, (_, b) =>
      names.slice(b * 100, b * 100 + 100).map((n) => score(n)),
    );
    const answers = await Promise.all(batches.map((b) => scores(b)));
    const outcomes = answers.flatMap((a) => a.results.map((r) => r.auto?.outcome));
    const locked = outcomes.filter((o) => o === 'locked').length;
    const capped = outcomes.filter((o) => o === 'capped').length;
    console.log(`flood: 500 qualifying scores → locked ${locked}, capped ${capped} (cap 5)`);
    expect(locked).toBe(5);
    expect(capped).toBe(495);
    expect(
      await count(
        `select count(*)::int as n from lockdowns where source = 'auto' and host_name like 'flood-%'`,
      ),
    ).toBe(5);
    expect(
      await count(
        `select count(*)::int as n from audit_events where action = 'auto.suppressed' and details->>'why' = 'cap'`,
      ),
    ).toBe(495);
    expect(
      await count(
        `select count(*)::int as n from outbox where event = 'auto.suppressed' and payload->>'detail' like '%cap of%'`,
      ),
    ).toBe(1);
  });
});

describe('bad score input', () => {
  it('reports invalid items and unknown hosts per item and stores the rest', async () => {
    await machines(['mixed-01.contoso.com']);
    await h.settings({ auto_enabled: false });
    const r = await scores([
      score('mixed-01'),
      score('no-such-host.contoso.com'),
      score('mixed-01', { threat: 100 }),
      score('mixed-01', { computed_at: 'yesterday' }),
      score('mixed-01', { computed_at: new Date(Date.now() + 3_600_000).toISOString() }),
      { host: 'mixed-01', threat: 1 },
      'not an object',
    ]);
    expect(r.accepted).toBe(1);
    expect(r.rejected).toBe(6);
    expect(r.results.map((x) => x.status)).toEqual([
      'accepted',
      'unknown_host',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
    ]);
    expect(r.results[0]?.auto?.outcome).toBe('auto_off');
    expect(r.results[2]?.message).toMatch(/^threat:/);
    expect(r.results[4]?.message).toMatch(/future/);
  });

  it.each([
    ['an empty array', []],
    ['more than 1 000 scores', Array.from({ length: 1001 }, () => score('x'))],
    ['a bad single score', { host: 'x', threat: 'high' }],
    ['a number', 42],
  ])('refuses %s with 400 and says what to send', async (_what, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const e = (await res.json()) as { error: { code: string; message: string } };
    expect(e.error.message).toMatch(/Send/);
  });
});

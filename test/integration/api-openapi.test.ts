import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { HostScoresAnswer } from '../../src/api/routes/host-scores.js';
import type { LockdownView } from '../../src/api/routes/lockdown-hosts.js';
import type { ApiScope } from '../../src/core/api-tokens/tokens.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import type { MdeMachine } from '../fakes/mde/types.js';
import { APPROVER_CHANNEL, bootHarness, type Harness, until } from '../helpers/harness.js';
import { type OpenApiChecker, type OpenApiDocument, openApiChecker } from '../helpers/openapi.js';
import { createApiToken } from '../helpers/tokens.js';

// Every answer of the REST API is checked against the OpenAPI document it serves (issue #8):
// its status must be listed for the operation and its body must match the listed schema.

const LIST = '/api/v2.1/lockdown/host';
const ONE = '/api/v2.1/lockdown/host/{id}';
const SCORES = '/api/v2.1/host/scores';
const DOC = '/api/v2.1/openapi.json';
const AT_IP = '/api/v2.1/host';
/** a low per-token rate so 429 is reached in a few dozen requests */
const RATE_PER_MINUTE = 60;

type Lockdown = z.infer<typeof LockdownView>;
type ScoresAnswer = z.infer<typeof HostScoresAnswer>;
interface ApiError {
  error: { code: string; message: string };
}

let h: Harness;
let doc: OpenApiDocument;
let api: OpenApiChecker;
const tok: Record<'edit' | 'view' | 'scores' | 'feed' | 'burst', string> = {
  edit: '',
  view: '',
  scores: '',
  feed: '',
  burst: '',
};

async function token(name: string, scopes: ApiScope[]): Promise<string> {
  const t = await createApiToken(h.app.store, { name, scopes });
  if (t === 'name_taken') {
    throw new Error(`token ${name} exists`);
  }
  return t.token;
}

interface Call {
  token?: string;
  id?: string;
  /** sent as JSON unless a string */
  body?: unknown;
  contentType?: string;
  /** a query string, without the `?` */
  query?: string;
}

/** One request; the answer is checked against the document. `T` is what the schema guarantees. */
async function call<T = ApiError>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  o: Call = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (o.token) {
    headers.authorization = `Bearer ${o.token}`;
  }
  if (o.body !== undefined) {
    headers['content-type'] = o.contentType ?? 'application/json';
  }
  const res = await fetch(
    h.app.url + path.replace('{id}', o.id ?? 'lck_none') + (o.query ? `?${o.query}` : ''),
    {
      method,
      headers,
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    },
  );
  return { status: res.status, body: (await api.check(res, method, path)) as T, headers: res.headers };
}

/** A request that must be refused with `status` and `code` (the body already matched Error). */
async function refused(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  o: Call,
  status: number,
  code: string,
) {
  const r = await call(method, path, o);
  expect({ status: r.status, code: r.body.error.code }).toEqual({ status, code });
  return r;
}

function machine(name: string): MdeMachine {
  const m = h.mde.machine({ computerDnsName: name, osPlatform: 'Windows11' });
  h.mde.addMachines([m]);
  return m;
}

async function list(): Promise<Lockdown[]> {
  const r = await call<Lockdown[]>('GET', LIST, { token: tok.view });
  expect(r.status).toBe(200);
  return r.body;
}

const score = (host: string, o: { threat?: number; certainty?: number; privilege?: number } = {}) => ({
  host,
  threat: o.threat ?? 10,
  certainty: o.certainty ?? 10,
  privilege: o.privilege ?? 1,
  computed_at: new Date(Date.now() - 60_000).toISOString(),
});

beforeAll(async () => {
  h = await bootHarness({ apiRatePerMinute: RATE_PER_MINUTE });
  await h.configureDefender();
  await h.settings({ approver_channel: APPROVER_CHANNEL, approval_required: true });
  tok.edit = await token('oas-edit', ['lockdown:view', 'lockdown:edit']);
  tok.view = await token('oas-view', ['lockdown:view']);
  tok.scores = await token('oas-scores', ['scores:write']);
  tok.feed = await token('oas-feed', ['scores:write', 'lockdown:view']);
  tok.burst = await token('oas-burst', ['lockdown:view', 'lockdown:edit', 'scores:write']);
  doc = (await (await fetch(h.app.url + DOC)).json()) as OpenApiDocument;
  api = openApiChecker(doc);
});
afterAll(() => h?.close());

describe('the OpenAPI document', () => {
  it('is served without a token and passes a well-kept OpenAPI validator', async () => {
    const served = await call<Record<string, unknown>>('GET', DOC);
    expect(served.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served.body));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists exactly the API paths', () => {
    expect(Object.keys(doc.paths).sort()).toEqual([DOC, SCORES, LIST, ONE, AT_IP].sort());
  });
});

describe('every answer matches the document', () => {
  const routes = [
    ['GET', LIST, undefined],
    ['POST', LIST, { host: 'x-01', duration: '1h' }],
    ['DELETE', ONE, undefined],
    ['POST', SCORES, score('x-01')],
    ['GET', AT_IP, undefined],
  ] as const;

  it('401 without a valid token and 403 without the scope, on every route', async () => {
    for (const [method, path, body] of routes) {
      await refused(method, path, { body }, 401, 'unauthorized');
      await refused(
        method,
        path,
        { body, token: 'hlk_not-a-real-token-0000000000000000000' },
        401,
        'unauthorized',
      );
      const lacking = path === SCORES ? tok.view : method === 'GET' ? tok.scores : tok.view;
      await refused(method, path, { body, token: lacking }, 403, 'forbidden');
    }
  });

  it('GET /host?ip&at answers the devices Defender saw then; bad input is 400; without the scope 403 (issue #18, item 4)', async () => {
    const m = machine('oas-ip-01.contoso.com');
    const ip = m.lastIpAddress ?? '';
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const r = await call<{
      ip: string;
      from: string;
      to: string;
      hosts: Array<{ machine_id: string; name: string }>;
    }>('GET', AT_IP, { token: tok.view, query: `ip=${encodeURIComponent(ip)}&at=${encodeURIComponent(at)}` });
    expect(r.status).toBe(200);
    expect(r.body.hosts.map((x) => x.machine_id)).toContain(m.id);
    expect(new Date(r.body.to).getTime() - new Date(r.body.from).getTime()).toBe(30 * 60_000);
    for (const [query, code] of [
      ['ip=10.1.2.3', 'bad_query'],
      ['ip=web-01&at=2026-12-01T10:00Z', 'not_an_ip'],
      ['ip=10.1.2.3&at=2026-12-01T10:00', 'bad_time'],
      [`ip=10.1.2.3&at=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, 'future'],
      [
        `ip=10.1.2.3&at=${encodeURIComponent(new Date(Date.now() - 40 * 86_400_000).toISOString())}`,
        'too_old',
      ],
    ] as const) {
      await refused('GET', AT_IP, { token: tok.view, query }, 400, code);
    }
    await refused(
      'GET',
      AT_IP,
      { token: tok.scores, query: `ip=${ip}&at=${encodeURIComponent(at)}` },
      403,
      'forbidden',
    );
    await h.settings({ mde_state: 'paused' });
    try {
      const q = { token: tok.view, query: `ip=${ip}&at=${encodeURIComponent(at)}` };
      await refused('GET', AT_IP, q, 503, 'defender_paused');
    } finally {
      await h.settings({ mde_state: 'enabled' });
    }
  });

  it('GET with include=outside answers lockdowns and hosts isolated outside, as documented; another include is 400', async () => {
    const m = machine('oas-out-01.contoso.com');
    h.mde.addAction({ machineId: m.id, type: 'Isolate', status: 'Succeeded', requestor: 'soc@contoso.com' });
    await h.app.hostsSync.run();
    const r = await call<Array<{ host_id: string; isolated_outside?: boolean }>>('GET', LIST, {
      token: tok.view,
      query: 'include=outside',
    });
    expect(r.status).toBe(200);
    expect(r.body.find((x) => x.host_id === m.id)?.isolated_outside).toBe(true);
    await refused('GET', LIST, { token: tok.view, query: 'include=bogus' }, 400, 'bad_include');
  });

  it('POST lock: 202 awaiting approval, listed by GET (200), then 409 already open', async () => {
    await h.settings({ approval_required: true });
    const m = machine('oas-pend-01.contoso.com');
    const body = { host: m.computerDnsName, duration: '4h', reason: 'openapi test' };
    api.checkRequest('POST', LIST, body);
    const r = await call<Lockdown>('POST', LIST, { token: tok.edit, body });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ machine_id: m.id, state: 'pending_approval' });
    expect(r.body.lock_date).toBe(r.body.requested_date);
    expect((await list()).map((l) => l.host_id)).toContain(r.body.host_id);
    await refused('POST', LIST, { token: tok.edit, body }, 409, 'already_open');
    // DELETE withdraws the pending request (202), and a second DELETE finds it closed (409)
    const del = await call<Lockdown>('DELETE', ONE, { token: tok.edit, id: r.body.host_id });
    expect(del).toMatchObject({ status: 202, body: { state: 'withdrawn' } });
    await refused('DELETE', ONE, { token: tok.edit, id: r.body.host_id }, 409, 'not_open');
  });

  it('POST lock: 400, 404, 413, 415 and 503', async () => {
    const edit = { token: tok.edit };
    await refused('POST', LIST, { ...edit, body: { host: 'x-01', duration: '3h' } }, 400, 'bad_duration');
    await refused('POST', LIST, { ...edit, body: { duration: '1h' } }, 400, 'bad_request');
    await refused('POST', LIST, { ...edit, body: '{nope' }, 400, 'bad_json');
    await refused('POST', LIST, { ...edit, body: { host: 'no such!', duration: '1h' } }, 400, 'bad_host');
    const nowhere = { host: 'nowhere-99.contoso.com', duration: '1h' };
    await refused('POST', LIST, { ...edit, body: nowhere }, 404, 'not_found');
    const big = { host: 'x-01', duration: '1h', reason: 'x'.repeat(17 * 1024) };
    await refused('POST', LIST, { ...edit, body: big }, 413, 'body_too_large');
    const text = { ...edit, body: 'host=x-01', contentType: 'text/plain' };
    await refused('POST', LIST, text, 415, 'unsupported_media_type');
    const m = machine('oas-paused-01.contoso.com');
    await h.settings({ mde_state: 'paused' });
    try {
      const body = { host: m.computerDnsName, duration: '1h' };
      await refused('POST', LIST, { ...edit, body }, 503, 'defender_paused');
    } finally {
      await h.settings({ mde_state: 'enabled' });
    }
  });

  it('POST lock 201 without approval; DELETE 202 releases it once active, then 409 and 404', async () => {
    await h.settings({ approval_required: false });
    const m = machine('oas-act-01.contoso.com');
    const body = { host: m.id, duration: '2h', reason: 'ir' };
    const r = await call<Lockdown>('POST', LIST, { token: tok.edit, body });
    expect(r.status).toBe(201);
    const id = r.body.host_id;
    const row = async () => lockdownStore(h.db.db).get(id);
    await until(async () => (await row())?.mdeActionId, 'the isolate call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(async () => (await row())?.state === 'active', 'the lockdown to be active');
    expect((await list()).find((l) => l.host_id === id)).toMatchObject({ state: 'active' });

    const del = await call<Lockdown>('DELETE', ONE, { token: tok.edit, id });
    expect(del.status).toBe(202);
    expect(del.body).toMatchObject({ host_id: id, state: 'releasing' });
    await refused('DELETE', ONE, { token: tok.edit, id }, 409, 'already_releasing');
    await refused('DELETE', ONE, { token: tok.edit, id: 'lck_doesnotexist' }, 404, 'not_found');
    await refused('DELETE', ONE, { token: tok.edit, id: 'not.an.id' }, 404, 'not_found'); // no route
  });

  it('POST scores 200: one score, and an array with an unknown host, invalid items and an auto lockdown', async () => {
    const low = machine('oas-score-01.contoso.com');
    const high = machine('oas-score-02.contoso.com');
    await h.app.hostsSync.run();
    await h.settings({ auto_enabled: false });
    const one = score(low.computerDnsName);
    api.checkRequest('POST', SCORES, one);
    const r1 = await call<ScoresAnswer>('POST', SCORES, { token: tok.scores, body: one });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ accepted: 1, rejected: 0, results: [{ status: 'accepted' }] });
    expect(r1.body.results[0]?.machine_id).toBeUndefined();

    await h.settings({ auto_enabled: true, auto_dry_run: false, approval_required: true });
    const hot = score(high.computerDnsName, { threat: 95, certainty: 95, privilege: 9 });
    const many = [hot, score('nowhere-98.contoso.com'), { host: 'x', threat: 500 }, 42];
    const r2 = await call<ScoresAnswer>('POST', SCORES, { token: tok.feed, body: many });
    expect(r2.status).toBe(200);
    expect(r2.body.results.map((x) => x.status)).toEqual(['accepted', 'unknown_host', 'invalid', 'invalid']);
    expect(r2.body.results[0]?.auto).toMatchObject({ outcome: 'pending_approval' });
    const lockdownId = r2.body.results[0]?.auto?.lockdown_id;
    // the automatic lockdown, with its trigger, also matches the document in the list
    const auto = (await list()).find((l) => l.host_id === lockdownId);
    expect(auto).toMatchObject({ source: 'auto', trigger: { threat: 95, certainty: 95, privilege: 9 } });
    await h.settings({ auto_enabled: false });
  });

  it('POST scores: 400, 413 and 415', async () => {
    const t = { token: tok.scores };
    await refused('POST', SCORES, { ...t, body: [] }, 400, 'bad_request');
    await refused('POST', SCORES, { ...t, body: { host: 'x-01' } }, 400, 'bad_request');
    await refused('POST', SCORES, { ...t, body: '[{' }, 400, 'bad_json');
    const big = Array.from({ length: 1000 }, () => score(`${'h'.repeat(200)}.contoso.com`));
    expect(JSON.stringify(big).length).toBeGreaterThan(256 * 1024);
    await refused('POST', SCORES, { ...t, body: big }, 413, 'body_too_large');
    const text = { ...t, body: 'host=x-01', contentType: 'text/plain' };
    await refused('POST', SCORES, text, 415, 'unsupported_media_type');
  });

  it('429 with Retry-After once a token spends its rate, on every route', async () => {
    let sent = 0;
    for (let status = 200; status !== 429 && sent <= RATE_PER_MINUTE + 5; sent++) {
      status = (await call<unknown>('GET', LIST, { token: tok.burst })).status;
    }
    expect(sent).toBeGreaterThan(RATE_PER_MINUTE); // the whole burst went through first
    expect(sent).toBeLessThanOrEqual(RATE_PER_MINUTE + 5);
    for (const [method, path, body] of routes) {
      const r = await refused(method, path, { token: tok.burst, body }, 429, 'rate_limited');
      expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
  });

  it('exercised every response the document lists', () => {
    // 500 is listed on every protected route for an unexpected failure; no request can cause one.
    const reachable = api.documented().filter((r) => !r.endsWith(' 500'));
    expect([...api.seen].sort()).toEqual(reachable.sort());
  });
});

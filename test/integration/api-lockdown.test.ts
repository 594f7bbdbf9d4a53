import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiScope } from '../../src/core/api-tokens/tokens.js';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken, revokeApiToken, TOKEN_ADMIN } from '../helpers/tokens.js';

const PATH = '/api/v2.1/lockdown/host';
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let h: Harness;
let editToken: string;
let viewToken: string;
let revokedToken: string;

async function token(name: string, scopes: ApiScope[]): Promise<string> {
  const t = await createApiToken(h.app.store, { name, scopes });
  if (t === 'name_taken') {
    throw new Error(`token ${name} exists`);
  }
  return t.token;
}

function api(method: string, o: { token?: string; scheme?: string; body?: unknown; path?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.token) {
    headers.authorization = `${o.scheme ?? 'Bearer'} ${o.token}`;
  }
  if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  return fetch(h.app.url + (o.path ?? PATH), {
    method,
    headers,
    ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
  });
}

interface ApiError {
  error: { code: string; message: string };
}

async function expectError(res: Response, status: number, code: string): Promise<ApiError> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as ApiError;
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body;
}

function machine(name: string, extra: Partial<MdeMachine> = {}): MdeMachine {
  const m = h.mde.machine({ computerDnsName: name, osPlatform: 'Windows11', ...extra });
  h.mde.addMachines([m]);
  return m;
}

async function row(id: string): Promise<Lockdown> {
  const l = await lockdownStore(h.db.db).get(id);
  if (!l) {
    throw new Error(`no lockdown ${id}`);
  }
  return l;
}

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.settings({ approver_channel: APPROVER_CHANNEL });
  editToken = await token('ci-edit', ['lockdown:view', 'lockdown:edit']);
  viewToken = await token('ci-view', ['lockdown:view']);
  revokedToken = await token('ci-revoked', ['lockdown:view', 'lockdown:edit']);
  await revokeApiToken(h.app.store, { name: 'ci-revoked' });
});
afterAll(() => h.close());
beforeEach(async () => {
  await h.settings({ approval_required: true });
});

describe('security: token auth and scopes', () => {
  it.each([
    ['no token', () => ({})],
    ['a wrong token', () => ({ token: 'hlk_not-a-real-token-000000000000000000000000000' })],
    ['a revoked token', () => ({ token: revokedToken })],
    ['an unknown scheme', () => ({ token: editToken, scheme: 'Basic' })],
  ])('answers 401 to %s', async (_what, auth: () => { token?: string; scheme?: string }) => {
    await expectError(await api('GET', auth()), 401, 'unauthorized');
    await expectError(
      await api('POST', { ...auth(), body: { host: 'x', duration: '1h' } }),
      401,
      'unauthorized',
    );
  });

  it('accepts `Token` as well as `Bearer`, and never logs the token', async () => {
    expect((await api('GET', { token: editToken, scheme: 'Token' })).status).toBe(200);
    expect((await api('GET', { token: viewToken })).status).toBe(200);
    await api('GET', { token: revokedToken });
    const all = h.logs.join('\n');
    expect(all).not.toContain(editToken);
    expect(all).not.toContain(revokedToken);
  });

  it('refuses a view-only token to lock or release (403), changing nothing', async () => {
    const m = machine('view-01.contoso.com');
    const body = { host: 'view-01', duration: '1h', reason: 'x' };
    const e = await expectError(await api('POST', { token: viewToken, body }), 403, 'forbidden');
    expect(e.error.message).toContain('lockdown:edit');
    await expectError(await api('DELETE', { token: viewToken, path: `${PATH}/lck_x` }), 403, 'forbidden');
    expect(await lockdownStore(h.db.db).openForMachine(m.id)).toBeNull();
  });

  it('refuses a body over 16 KiB (413) and anything but JSON (415)', async () => {
    const body = { host: 'big-01', duration: '1h', reason: 'x'.repeat(20_000) };
    await expectError(await api('POST', { token: editToken, body }), 413, 'body_too_large');
    const res = await fetch(h.app.url + PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${editToken}`, 'content-type': 'text/plain' },
      body: 'host=big-01',
    });
    await expectError(res, 415, 'unsupported_media_type');
    await expectError(await api('POST', { token: editToken, body: '{nope' }), 400, 'bad_json');
  });
});

describe('POST /api/v2.1/lockdown/host', () => {
  it('requests a lockdown that awaits approval (202) and asks the approvers in Slack', async () => {
    const m = machine('api-01.contoso.com');
    const res = await api('POST', {
      token: editToken,
      body: { host: 'api-01', duration: '4h', reason: 'beaconing from CI' },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      host_name: 'api-01.contoso.com',
      machine_id: m.id,
      state: 'pending_approval',
      reason: 'beaconing from CI',
      source: 'api',
    });
    // never null for an open lockdown (issue #15, item 3): the request time, and that + 4 h
    expect(body.lock_date).toBe(body.requested_date);
    expect(Date.parse(String(body.unlock_date)) - Date.parse(String(body.lock_date))).toBe(4 * 3_600_000);
    // a token acts for the person who created it (issue #14); the token is named beside
    expect(body.locked_by).toBe(`slack:${TOKEN_ADMIN}`);
    expect(String(body.locked_via)).toMatch(/^api:tok_/);
    const l = await row(String(body.host_id));
    expect(l.approvalChannel).toBe(APPROVER_CHANNEL);
    const root = h.slack.findMessage(APPROVER_CHANNEL, l.approvalTs ?? '');
    expect(JSON.stringify(root?.blocks)).toContain('beaconing from CI');

    // the list shows it, in the Vectra shape
    const list = (await (await api('GET', { token: viewToken })).json()) as Record<string, unknown>[];
    const item = list.find((x) => x.host_id === l.id);
    expect(item).toMatchObject({
      host_name: 'api-01.contoso.com',
      machine_id: m.id,
      state: 'pending_approval',
    });
    expect(item?.requested_date).toMatch(RFC3339_UTC);

    // a second request for the same host mirrors Slack's "already open"
    const again = await api('POST', { token: editToken, body: { host: 'api-01', duration: '1h' } });
    expect((await expectError(again, 409, 'already_open')).error.message).toContain(l.id);
  });

  it.each([
    ['a duration outside the presets', { host: 'x-01', duration: '3h' }, 400, 'bad_duration'],
    ['a missing host', { duration: '1h' }, 400, 'bad_request'],
    [
      'a reason over 500 characters',
      { host: 'x-01', duration: '1h', reason: 'r'.repeat(501) },
      400,
      'bad_request',
    ],
    ['a host name over 255 characters', { host: 'a'.repeat(256), duration: '1h' }, 400, 'bad_request'],
    ['a host nobody knows', { host: 'nowhere-99.contoso.com', duration: '1h' }, 404, 'not_found'],
  ])('refuses %s', async (_what, body, status, code) => {
    await expectError(await api('POST', { token: editToken, body }), status, code);
  });

  it('refuses a host isolated outside hostlock (409)', async () => {
    const m = machine('apiout-01.contoso.com');
    h.mde.addAction({ machineId: m.id, type: 'Isolate', status: 'Succeeded', requestor: 'soc@contoso.com' });
    await h.app.hostsSync.run();
    const res = await api('POST', { token: editToken, body: { host: 'apiout-01', duration: '1h' } });
    expect((await expectError(res, 409, 'isolated_outside')).error.message).toMatch(/outside hostlock/);
    expect(await lockdownStore(h.db.db).openForMachine(m.id)).toBeNull();

    // listed only when asked for, marked, with the machine id as its handle (issue #15, item 12)
    const plain = (await (await api('GET', { token: viewToken })).json()) as Array<{ host_name: string }>;
    expect(plain.some((x) => x.host_name === m.computerDnsName)).toBe(false);
    const withOutside = (await (
      await api('GET', { token: viewToken, path: `${PATH}?include=outside` })
    ).json()) as Array<Record<string, unknown>>;
    expect(withOutside.find((x) => x.host_name === m.computerDnsName)).toEqual({
      host_id: m.id,
      host_name: m.computerDnsName,
      machine_id: m.id,
      state: 'isolated_outside',
      locked_by: 'outside hostlock',
      lock_date: null,
      unlock_date: null,
      isolated_outside: true,
    });
    await expectError(
      await api('GET', { token: viewToken, path: `${PATH}?include=everything` }),
      400,
      'bad_include',
    );
    // and /hostlock list shows it, marked
    await h.grant('analyst', 'U0LISTVIEW');
    const listed = await h.slash('list', { as: 'U0LISTVIEW' });
    expect(allText(listed.json())).toMatch(/apiout-01\.contoso\.com.*isolated outside hostlock/s);
  });
});

describe('GET and DELETE of an active lockdown', () => {
  it('lists it with RFC 3339 UTC dates, releases it (202), and 404s an unknown id', async () => {
    await h.settings({ approval_required: false });
    const m = machine('apiact-01.contoso.com');
    const res = await api('POST', { token: editToken, body: { host: m.id, duration: '2h', reason: 'ir' } });
    expect(res.status).toBe(201);
    const id = String(((await res.json()) as { host_id: string }).host_id);
    await until(async () => (await row(id)).mdeActionId, 'the isolate call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(async () => (await row(id)).state === 'active', 'the lockdown to be active');

    const list = (await (await api('GET', { token: viewToken })).json()) as Record<string, unknown>[];
    const item = list.find((x) => x.host_id === id);
    expect(item).toBeDefined();
    expect(Object.keys(item ?? {})).toEqual(
      expect.arrayContaining([
        'host_id',
        'host_name',
        'locked_by',
        'lock_date',
        'unlock_date',
        'machine_id',
        'state',
        'reason',
        'source',
      ]),
    );
    expect(item).toMatchObject({ host_name: 'apiact-01.contoso.com', machine_id: m.id, state: 'active' });
    expect(typeof item?.locked_by).toBe('string');
    expect(item?.lock_date).toMatch(RFC3339_UTC);
    expect(item?.unlock_date).toMatch(RFC3339_UTC);
    const span = Date.parse(String(item?.unlock_date)) - Date.parse(String(item?.lock_date));
    expect(Math.abs(span - 2 * 3600_000)).toBeLessThan(2_000);

    const del = await api('DELETE', { token: editToken, path: `${PATH}/${id}` });
    expect(del.status).toBe(202);
    expect(await del.json()).toMatchObject({ host_id: id, state: 'releasing' });
    expect((await row(id)).releasedBy).toBe(`slack:${TOKEN_ADMIN}`); // the token's creator, as above

    const twice = await api('DELETE', { token: editToken, path: `${PATH}/${id}` });
    await expectError(twice, 409, 'already_releasing');
    await expectError(
      await api('DELETE', { token: editToken, path: `${PATH}/lck_doesnotexist` }),
      404,
      'not_found',
    );
  });
});

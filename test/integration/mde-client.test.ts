import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MACHINE_BATCH } from '../../src/core/defender.js';
import { MdeAuthError } from '../../src/mde/auth.js';
import { createCallBudget } from '../../src/mde/budget.js';
import {
  createDefenderClient,
  type DefenderClient,
  type DefenderClientOptions,
  PAGE_SIZE,
} from '../../src/mde/client.js';
import { MdeApiError, MdeNetworkError, MdeResponseError } from '../../src/mde/errors.js';
import { createMdeHttp } from '../../src/mde/http.js';
import { type MdePeer, startMdePeer } from '../fakes/mde-peer.js';

// Our Defender client against the Defender peer (HTTPS, throwaway certificate trusted through
// NODE_EXTRA_CA_CERTS, set by test/global-setup.ts).

const TENANT = '8f3c2a10-5b6d-4e7f-9a81-2c3d4e5f6a7b';
const CLIENT = '1b2c3d4e-0000-4000-8000-00000000c11e';
const SECRET = 'CANARY~secret-value-for-tests';

let peer: MdePeer;
const clients: DefenderClient[] = [];

beforeAll(async () => {
  peer = await startMdePeer({ tls: inject('tlsCert') });
  peer.addApp({ tenantId: TENANT, clientId: CLIENT, secret: SECRET, appName: 'hostlock' });
  peer.addApp({ tenantId: TENANT, clientId: 'expired-app', secret: 'old', secretExpired: true });
  peer.addApp({ tenantId: TENANT, clientId: 'read-only-app', secret: 'ro', roles: ['Machine.Read.All'] });
  peer.addApp({ tenantId: TENANT, clientId: 'isolate-only-app', secret: 'io', roles: ['Machine.Isolate'] });
  peer.addTenantWithoutMde('0a0a0a0a-0000-4000-8000-000000000000');
});
afterAll(() => peer.close());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const countApi = (pred: (path: string, method: string) => boolean = () => true) =>
  peer.requests.filter((r) => r.path.startsWith('/api/') && pred(r.path, r.method)).length;

function client(
  overrides: Partial<DefenderClientOptions> & { clientId?: string; secret?: string; tenant?: string } = {},
) {
  const { clientId = CLIENT, secret = SECRET, tenant = TENANT, ...rest } = overrides;
  const c = createDefenderClient({
    credentials: { tenantId: tenant, clientId, clientSecret: secret },
    apiUrl: peer.url,
    loginUrl: peer.url,
    // backoff waits are real but tiny; Retry-After is honoured as sent
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...rest,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('listing machines', () => {
  it('lists 25 000 machines in 3 calls, following @odata.nextLink, in batches as they arrive', async () => {
    const fleet = peer.generateMachines(25_000, { prefix: 'fleet' });
    peer.addMachines(fleet);
    const before = countApi((p) => p === '/api/machines');
    const batches: number[] = [];
    const all: { machineId: string; name: string }[] = [];
    const kept = await client().listMachines((batch) => {
      batches.push(batch.length);
      all.push(...batch);
    });
    expect(kept).toEqual([]); // batches handed over are not also held
    expect(countApi((p) => p === '/api/machines') - before).toBe(3);
    // pages of 10 000, 10 000 and 5 000, each handed over MACHINE_BATCH at a time
    const page = (n: number) => [
      ...Array<number>(Math.floor(n / MACHINE_BATCH)).fill(MACHINE_BATCH),
      ...(n % MACHINE_BATCH ? [n % MACHINE_BATCH] : []),
    ];
    expect(batches).toEqual([...page(10_000), ...page(10_000), ...page(5_000)]);
    expect(all).toHaveLength(25_000);
    expect(new Set(all.map((m) => m.machineId)).size).toBe(25_000);
    const sample = all.find((m) => m.machineId === fleet[12_345]?.id);
    expect(sample?.name).toBe(fleet[12_345]?.computerDnsName);
  });

  it('reads a page again when its answer breaks off part-way; the batches before the break come again', async () => {
    const before = countApi((p) => p === '/api/machines');
    const total = (await client().listMachines()).length;
    // the first page's connection drops after ~3 MB: some of its batches are already handed over
    peer.inject({ method: 'GET', path: /^\/api\/machines$/, status: 200, breakBodyAfterBytes: 3_000_000 });
    const seen: string[] = [];
    let batches = 0;
    await client({ sleep: async () => {} }).listMachines((batch) => {
      batches++;
      seen.push(...batch.map((m) => m.machineId));
    });
    const calls = countApi((p) => p === '/api/machines') - before;
    const repeated = seen.length - new Set(seen).size;
    expect(new Set(seen).size).toBe(total);
    expect(repeated).toBeGreaterThan(0);
    expect(repeated % MACHINE_BATCH).toBe(0); // whole batches, never part of one
    expect(batches).toBeGreaterThan(Math.ceil(total / MACHINE_BATCH));
    expect(calls).toBe(2 * Math.ceil(total / PAGE_SIZE) + 1); // the first listing, then one page twice
  });

  it('does not read a page again when the caller’s own write fails: that is not Defender’s failure', async () => {
    const before = countApi((p) => p === '/api/machines');
    // a database error carries a `code` too (SQLSTATE), like a socket error: it must not be mistaken
    const dbDown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const e = await failure(
      client({ sleep: async () => {} }).listMachines(() => {
        throw dbDown;
      }),
    );
    expect(e).toBe(dbDown);
    expect(countApi((p) => p === '/api/machines') - before).toBe(1);
  });

  it('takes a 404 on a next page for a failure, never for the end of the list (later hosts are not gone)', async () => {
    let injected = false;
    const e = await failure(
      client().listMachines(() => {
        if (!injected) {
          injected = true; // the first page is being read: its next page answers 404
          peer.inject({ method: 'GET', path: /^\/api\/machines$/, status: 404 });
        }
      }),
    );
    expect(e).toBeInstanceOf(MdeApiError);
    expect(e).toMatchObject({ status: 404 });
  });

  it('reports a machine list that breaks off on every try as a network failure, not a short list', async () => {
    peer.inject({
      method: 'GET',
      path: /^\/api\/machines$/,
      status: 200,
      breakBodyAfterBytes: 100_000,
      times: 5,
    });
    const e = await failure(client({ sleep: async () => {} }).listMachines(() => {}));
    expect(e).toBeInstanceOf(MdeNetworkError);
    expect(e).toMatchObject({ retryable: true });
  });

  it('reuses one token across calls', async () => {
    const c = client();
    const issued = peer.tokensIssued();
    await c.getMachine('0'.repeat(40));
    await c.findMachinesByName('fleet-00001');
    await c.listActions({ top: 5 });
    expect(peer.tokensIssued() - issued).toBe(1);
  });

  it('maps Defender fields once: name, OS version from `version`, IPs, tags, duplicates', async () => {
    const m = peer.machine({
      computerDnsName: 'web-01.contoso.com',
      osPlatform: 'Windows11',
      osVersion: null,
      version: '23H2',
      lastIpAddress: '10.1.2.3',
      machineTags: ['prod', 'web'],
      isPotentialDuplication: true,
    });
    peer.addMachines([m]);
    const got = await client().getMachine(m.id);
    expect(got).toMatchObject({
      machineId: m.id,
      name: 'web-01.contoso.com',
      osPlatform: 'Windows11',
      osVersion: '23H2',
      tags: ['prod', 'web'],
      isPotentialDuplicate: true,
    });
    expect(got?.ips).toContain('10.1.2.3');
    expect(got?.lastSeen).toBeInstanceOf(Date);
  });

  it('answers null for an unknown machine id and [] for an empty list (Defender says 404)', async () => {
    const c = client();
    expect(await c.getMachine('f'.repeat(40))).toBeNull();
    expect(await c.findMachinesByName('no-such-host')).toEqual([]);
  });

  it('finds by name exactly or by prefix, escaping quotes in the OData literal', async () => {
    peer.addMachines([
      peer.machine({ computerDnsName: "o'brien-laptop" }),
      peer.machine({ computerDnsName: 'db-01' }),
      peer.machine({ computerDnsName: 'db-02' }),
    ]);
    const c = client();
    expect((await c.findMachinesByName("o'brien-laptop")).map((m) => m.name)).toEqual(["o'brien-laptop"]);
    expect((await c.findMachinesByName('db-', { prefix: true })).map((m) => m.name).sort()).toEqual([
      'db-01',
      'db-02',
    ]);
    const sent = peer.requests.filter((r) => r.path === '/api/machines' && r.query.includes('brien'));
    expect(decodeURIComponent(sent[0]?.query ?? '')).toContain("computerDnsName eq 'o''brien-laptop'");
  });

  it('finds by IP around a time, and refuses a non-IP before calling Defender', async () => {
    const m = peer.machine({ computerDnsName: 'ip-host', lastIpAddress: '10.9.8.7' });
    peer.addMachines([m]);
    const c = client();
    const found = await c.findMachinesByIp('10.9.8.7', new Date(Date.now() - 5 * 60_000));
    expect(found.map((x) => x.machineId)).toEqual([m.id]);
    const before = countApi();
    await expect(c.findMachinesByIp("10.0.0.1') or (1 eq 1", new Date())).rejects.toThrow(RangeError);
    expect(countApi()).toBe(before);
  });

  it('skips a malformed machine record instead of failing the whole list', async () => {
    const seen: unknown[] = [];
    const bad = peer.machine({ computerDnsName: 'bad-record' });
    (bad as unknown as { healthStatus: unknown }).healthStatus = { nested: 'object' };
    peer.addMachines([bad, peer.machine({ computerDnsName: 'bad-neighbour' })]);
    const found = await client({ onInvalidRecord: (d) => seen.push(d.id) }).findMachinesByName('bad-', {
      prefix: true,
    });
    expect(found.map((m) => m.name)).toEqual(['bad-neighbour']);
    expect(seen).toEqual([bad.id]);
  });

  it('never sends its token to another origin, whatever a nextLink says', async () => {
    const tokens = { getToken: async () => 'token-that-must-stay-home', invalidate: () => {} };
    const http = createMdeHttp({ apiUrl: peer.url, tokens, budget: createCallBudget() });
    const before = peer.requests.length;
    const e = await failure(http.call('GET', 'https://127.0.0.2:1/api/machines?$skip=10000'));
    await http.close();
    expect(e).toBeInstanceOf(MdeResponseError);
    expect((e as Error).message).toMatch(/points to https:\/\/127\.0\.0\.2:1/);
    expect(peer.requests.length).toBe(before);
  });
});

describe('throttling and transient failures', () => {
  it('waits out a 429 for its Retry-After and then succeeds', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 429, retryAfterSeconds: 1 });
    const c = client();
    const started = Date.now();
    const actions = await c.listActions({ top: 3 });
    expect(Array.isArray(actions)).toBe(true);
    const tries = peer.requests.filter((r) => r.path === '/api/machineactions').slice(-2);
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('does not wait out a 429 inside a lockdown step’s set-aside calls: it fails at once, retryably', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 429, retryAfterSeconds: 30 });
    const c = client();
    const started = Date.now();
    const e = await c.withCalls(2, () => c.listActions({ top: 3 })).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'MdeBudgetSpentError', code: 'mde_budget_spent', retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000); // not the 30 s Defender asked for
    expect(peer.requests.filter((r) => r.path === '/api/machineactions').at(-1)?.status).toBe(429);
  });

  it('retries 5xx and dropped connections on reads, with backoff', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 500, times: 2 });
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 503, destroySocket: true });
    const sleeps: number[] = [];
    const c = client({ sleep: async (ms) => void sleeps.push(ms) });
    await c.listActions({ top: 1 });
    const tries = peer.requests.filter((r) => r.path === '/api/machineactions').slice(-4);
    expect(tries.map((r) => r.status)).toEqual([500, 500, 0, 200]);
    expect(sleeps).toHaveLength(3);
    // capped exponential with jitter: each wait within [step/2, step], steps 5, 10, 20 ms
    sleeps.forEach((ms, i) => {
      const step = Math.min(20, 5 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(step / 2);
      expect(ms).toBeLessThanOrEqual(step);
    });
  });

  it('gives up after its retry budget with a retryable typed error that keeps the status', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machines\/[0-9a-f]+$/, status: 502, times: 3 });
    const e = await failure(
      client({ retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 } }).getMachine('a'.repeat(40)),
    );
    expect(e).toBeInstanceOf(MdeApiError);
    expect((e as MdeApiError).status).toBe(502);
    expect((e as MdeApiError).retryable).toBe(true);
  });

  it('does not resend an isolation after an ambiguous 5xx: MDE has no idempotency key', async () => {
    const m = peer.machine({ computerDnsName: 'ambiguous-01', osPlatform: 'Windows11' });
    peer.addMachines([m]);
    peer.inject({ method: 'POST', path: /\/isolate$/, status: 500 });
    const before = countApi((p, method) => method === 'POST' && p.endsWith('/isolate'));
    const e = await failure(client().isolate(m.id, 'test', 'Full'));
    expect(e).toBeInstanceOf(MdeApiError);
    expect((e as MdeApiError).retryable).toBe(true);
    expect(countApi((p, method) => method === 'POST' && p.endsWith('/isolate')) - before).toBe(1);
  });

  it('does resend an isolation refused with 429, which Defender did not act on', async () => {
    const m = peer.machine({ computerDnsName: 'throttled-01', osPlatform: 'Windows11' });
    peer.addMachines([m]);
    peer.inject({ method: 'POST', path: /\/isolate$/, status: 429, retryAfterSeconds: 0 });
    const action = await client().isolate(m.id, 'hostlock test', 'Full');
    expect(action).toMatchObject({ machineId: m.id, type: 'Isolate', status: 'Pending', scope: 'Full' });
  });

  it('does not wait out a Retry-After longer than its bound: the caller reschedules', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 429, retryAfterSeconds: 600 });
    const e = await failure(client().listActions({ top: 1 }));
    expect(e).toBeInstanceOf(MdeApiError);
    expect((e as MdeApiError).mdeCode).toBe('TooManyRequests');
    expect((e as MdeApiError).retryAfterMs).toBe(600_000);
    expect((e as MdeApiError).retryable).toBe(true);
  });

  it('reports a network failure as a typed, retryable error', async () => {
    const c = createDefenderClient({
      credentials: { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET },
      apiUrl: 'https://127.0.0.1:9',
      loginUrl: peer.url,
      retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
    });
    clients.push(c);
    const e = await failure(c.getMachine('a'.repeat(40)));
    expect(e).toBeInstanceOf(MdeNetworkError);
    expect((e as MdeNetworkError).retryable).toBe(true);
  });
});

describe('isolation and machine actions', () => {
  it('isolates with case-sensitive body keys and reports ActiveRequestAlreadyExists as such', async () => {
    const m = peer.machine({ computerDnsName: 'iso-01', osPlatform: 'Windows11' });
    peer.addMachines([m]);
    const c = client();
    const a = await c.isolate(m.id, 'hostlock: requested by <@U1>', 'Selective');
    expect(a).toMatchObject({
      type: 'Isolate',
      scope: 'Selective',
      status: 'Pending',
      comment: 'hostlock: requested by <@U1>',
    });
    const sent = peer.requests
      .filter((r) => r.method === 'POST' && r.path.endsWith(`${m.id}/isolate`))
      .at(-1);
    expect(JSON.parse(sent?.body ?? '{}')).toEqual({
      Comment: 'hostlock: requested by <@U1>',
      IsolationType: 'Selective',
    });

    const dup = await failure(c.isolate(m.id, 'again', 'Full'));
    expect(dup).toBeInstanceOf(MdeApiError);
    expect((dup as MdeApiError).isActiveRequestAlreadyExists).toBe(true);
    expect((dup as MdeApiError).code).toBe('mde_active_request_already_exists');
    expect((dup as MdeApiError).target).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('follows an action from Pending to Succeeded, then releases', async () => {
    const m = peer.machine({ computerDnsName: 'iso-02', osPlatform: 'Linux' });
    peer.addMachines([m]);
    const c = client();
    const a = await c.isolate(m.id, 'lock', 'Full');
    peer.advanceActions();
    expect((await c.getAction(a.id))?.status).toBe('InProgress');
    peer.advanceActions();
    expect((await c.getAction(a.id))?.status).toBe('Succeeded');
    const r = await c.release(m.id, 'unlock');
    expect(r).toMatchObject({ type: 'Unisolate', status: 'Pending' });
    const history = await c.listActions({ machineId: m.id });
    expect(history.map((x) => x.type)).toEqual(['Unisolate', 'Isolate']);
    const onlyIsolate = await c.listActions({ machineId: m.id, type: 'Isolate', status: 'Succeeded' });
    expect(onlyIsolate.map((x) => x.id)).toEqual([a.id]);
    expect(await c.getAction('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('keeps Defender codes for refused isolations (unknown machine, unsupported OS)', async () => {
    const c = client();
    const unknown = await failure(c.isolate('e'.repeat(40), 'x', 'Full'));
    expect((unknown as MdeApiError).mdeCode).toBe('ResourceNotFound');
    expect((unknown as MdeApiError).retryable).toBe(false);
    const linux = peer.machine({ computerDnsName: 'linux-sel', osPlatform: 'Linux' });
    peer.addMachines([linux]);
    const sel = await failure(c.isolate(linux.id, 'x', 'Selective'));
    expect((sel as MdeApiError).mdeCode).toBe('OsPlatformNotSupported');
  });

  it('rejects a response body that is not a machine action', async () => {
    const m = peer.machine({ computerDnsName: 'odd-01', osPlatform: 'Windows11' });
    peer.addMachines([m]);
    peer.inject({ method: 'POST', path: /\/unisolate$/, status: 201, message: 'not json at all' });
    const e = await failure(client().release(m.id, 'x'));
    expect(e).toBeInstanceOf(MdeResponseError);
  });
});

describe('sign-in and permissions', () => {
  const signIn = async (o: { clientId?: string; secret?: string; tenant?: string }) =>
    failure(client(o).getMachine('a'.repeat(40)));

  it('reports a wrong secret as a wrong secret, telling the admin to paste the Value', async () => {
    const e = await signIn({ secret: 'not-the-secret' });
    expect(e).toBeInstanceOf(MdeAuthError);
    expect((e as MdeAuthError).problem).toBe('secret_wrong');
    expect((e as MdeAuthError).aadsts).toBe(7000215);
    expect((e as Error).message).toMatch(/Value, not its Secret ID/);
    expect((e as Error).message).not.toContain('not-the-secret');
  });

  it.each([
    [{ secret: 'old', clientId: 'expired-app' }, 'secret_expired', 7000222],
    [{ clientId: '99999999-0000-4000-8000-000000000000' }, 'client_not_found', 700016],
    [{ tenant: '11111111-2222-4333-8444-555555555555' }, 'tenant_not_found', 90002],
    [{ tenant: 'not a tenant!' }, 'tenant_malformed', undefined],
    [{ tenant: 'asdf' }, 'tenant_malformed', 900023],
    [{ tenant: '0a0a0a0a-0000-4000-8000-000000000000' }, 'defender_not_provisioned', 500011],
  ])('classifies %o as %s', async (creds, problem, aadsts) => {
    // a malformed tenant is refused before any request, as a thrown MdeAuthError
    const e = await failure((async () => client(creds).getMachine('a'.repeat(40)))());
    expect(e).toBeInstanceOf(MdeAuthError);
    expect((e as MdeAuthError).problem).toBe(problem);
    expect((e as MdeAuthError).aadsts).toBe(aadsts);
  });

  it('names the missing permission when Defender answers 403', async () => {
    const m = peer.machine({ computerDnsName: 'perm-01', osPlatform: 'Windows11' });
    peer.addMachines([m]);
    const e = await failure(client({ clientId: 'read-only-app', secret: 'ro' }).isolate(m.id, 'x', 'Full'));
    expect(e).toBeInstanceOf(MdeApiError);
    expect((e as MdeApiError).status).toBe(403);
    expect((e as MdeApiError).requiredPermissions).toContain('Machine.Isolate');
    expect((e as Error).message).toMatch(/lacks .*Machine\.Isolate.*grant admin consent/);

    const read = await failure(client({ clientId: 'isolate-only-app', secret: 'io' }).getMachine(m.id));
    expect((read as MdeApiError).requiredPermissions).toEqual(expect.arrayContaining(['Machine.Read.All']));
  });

  it('gets a new token once when Defender rejects a cached one (401), then fails', async () => {
    const c = client();
    await c.getMachine('a'.repeat(40));
    const issued = peer.tokensIssued();
    peer.inject({ method: 'GET', path: /^\/api\/machines\//, status: 401 });
    expect(await c.getMachine('a'.repeat(40))).toBeNull();
    expect(peer.tokensIssued() - issued).toBe(1);

    peer.inject({ method: 'GET', path: /^\/api\/machines\//, status: 401, times: 2 });
    const e = await failure(c.getMachine('a'.repeat(40)));
    expect((e as MdeApiError).mdeCode).toBe('Unauthorized');
  });

  it('probe() reads one machine and returns the token roles', async () => {
    expect((await client().probe()).roles.sort()).toEqual(['Machine.Isolate', 'Machine.Read.All']);
    const ro = await client({ clientId: 'read-only-app', secret: 'ro' }).probe();
    expect(ro.roles).toEqual(['Machine.Read.All']);
  });
});

describe('response validation', () => {
  it('reports a list without `value` as a bad response, not a crash', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machineactions$/, status: 200, message: 'x' });
    const e = await failure(client().listActions({ top: 1 }));
    expect(e).toBeInstanceOf(MdeResponseError);
    expect((e as Error).message).toMatch(/GET \/api\/machineactions/);
  });

  it('reports a machine list without `value`, read as it streams, as a bad response', async () => {
    peer.inject({ method: 'GET', path: /^\/api\/machines$/, status: 200, message: 'x' });
    const e = await failure(client().listMachines(() => {}));
    expect(e).toBeInstanceOf(MdeResponseError);
    expect((e as Error).message).toMatch(/GET \/api\/machines.*no "value" array/);
  });
});

describe('sovereign clouds (issue #15, item 9): MDE_CLOUD picks the scope the Defender peer checks', () => {
  let gov: MdePeer;
  beforeAll(async () => {
    gov = await startMdePeer({ tls: inject('tlsCert'), cloud: 'gcc-high' });
    gov.addApp({ tenantId: TENANT, clientId: CLIENT, secret: SECRET, appName: 'hostlock' });
  });
  afterAll(() => gov.close());

  const configured = (cloud: string) =>
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      MDE_CLOUD: cloud,
      MDE_API_URL: gov.url,
      MDE_LOGIN_URL: gov.url,
      HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
    }).mde;

  it('a GCC High configuration gets a token for the government resource and is served', async () => {
    const mde = configured('gcc-high');
    expect(mde.scope).toBe('https://api-gov.securitycenter.microsoft.us/.default');
    const c = client({ apiUrl: gov.url, loginUrl: gov.url, scope: mde.scope });
    await expect(c.probe()).resolves.toMatchObject({ roles: expect.arrayContaining(['Machine.Isolate']) });
  });

  it('the commercial scope is refused by a GCC High Defender: no token, no API call', async () => {
    const mde = configured('commercial');
    const before = gov.requests.filter((r) => r.path.startsWith('/api/')).length;
    const c = client({ apiUrl: gov.url, loginUrl: gov.url, scope: mde.scope });
    const e = await failure(c.probe());
    expect(e).toBeInstanceOf(MdeAuthError);
    expect(String((e as Error).message)).toMatch(/AADSTS500011|resource/);
    expect(gov.requests.filter((r) => r.path.startsWith('/api/')).length).toBe(before);
  });
});

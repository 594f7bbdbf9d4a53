import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type MdeMachine, type MdePeer, type MdePeerOptions, startMdePeer } from '../../fakes/mde-peer.js';
import { createTestCertificate } from '../../fakes/tls.js';

const T0 = Date.parse('2025-06-01T12:00:00Z');
const TENANT = '4f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const DOMAIN = 'contoso.onmicrosoft.com';
const CLIENT = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';
const READ_ONLY = '11111111-1111-4111-8111-111111111111';
const ISOLATE_ONLY = '22222222-2222-4222-8222-222222222222';
const NO_ROLES = '33333333-3333-4333-8333-333333333333';
const SECRET = 'Qx8~fake-secret-value';
const MDE_SCOPE = 'https://api.securitycenter.microsoft.com/.default';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ODATA_CT = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8';

const MdeErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), target: z.string().regex(GUID) }),
});
const AadErrorBody = z.object({
  error: z.string(),
  error_description: z.string(),
  error_codes: z.array(z.number()),
  timestamp: z.string(),
  trace_id: z.string().regex(GUID),
  correlation_id: z.string().regex(GUID),
  error_uri: z.string(),
});
const TokenBody = z.object({
  token_type: z.literal('Bearer'),
  expires_in: z.literal(3599),
  ext_expires_in: z.number(),
  access_token: z.string(),
});
const Claims = z.looseObject({
  aud: z.string(),
  tid: z.string(),
  appid: z.string(),
  exp: z.number(),
  iat: z.number(),
  roles: z.array(z.string()).optional(),
});
const Action = z.looseObject({
  id: z.string().regex(GUID),
  type: z.string(),
  scope: z.string().nullable(),
  status: z.string(),
  requestor: z.string(),
  machineId: z.string(),
  creationDateTimeUtc: z.string(),
  lastUpdateDateTimeUtc: z.string(),
  cancellationRequestor: z.string().nullable(),
});
const List = z.object({
  '@odata.context': z.string(),
  value: z.array(z.looseObject({ id: z.string() })),
  '@odata.nextLink': z.string().optional(),
});

let nowMs = T0;
let dir = '';
let tls: { cert: string; key: string; certPath: string };
let dispatcher: Agent;
const started: MdePeer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mde-peer-test-'));
  tls = await createTestCertificate(dir);
  dispatcher = new Agent({ connect: { ca: tls.cert } });
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.close()));
  await dispatcher.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  nowMs = T0;
});

/** A peer with one tenant and four apps: full, read-only, isolate-only and no consented roles. */
async function newPeer(opts: Partial<MdePeerOptions> = {}): Promise<MdePeer> {
  const peer = await startMdePeer({ tls, now: () => new Date(nowMs), ...opts });
  started.push(peer);
  const app = { tenantId: TENANT, tenantDomain: DOMAIN, secret: SECRET };
  peer.addApp({ ...app, clientId: CLIENT });
  peer.addApp({ ...app, clientId: READ_ONLY, roles: ['Machine.Read.All'] });
  peer.addApp({ ...app, clientId: ISOLATE_ONLY, roles: ['Machine.Isolate'] });
  peer.addApp({ ...app, clientId: NO_ROLES, roles: [] });
  return peer;
}

interface SendInit {
  method?: string;
  token?: string;
  json?: unknown;
  body?: string;
  form?: Record<string, string>;
}

async function send(url: string, init: SendInit = {}) {
  const headers: Record<string, string> = {};
  let body = init.body;
  if (init.token) {
    headers.authorization = `Bearer ${init.token}`;
  }
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const method = init.method ?? (body === undefined ? 'GET' : 'POST');
  const res = await fetch(url, { method, headers, body, dispatcher });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : null;
  return { status: res.status, headers: res.headers, json };
}

function tokenForm(clientId = CLIENT, secret = SECRET, scope = MDE_SCOPE): Record<string, string> {
  return { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope };
}

async function token(peer: MdePeer, clientId = CLIENT, scope = MDE_SCOPE): Promise<string> {
  const res = await send(`${peer.url}/${TENANT}/oauth2/v2.0/token`, {
    form: tokenForm(clientId, SECRET, scope),
  });
  return TokenBody.parse(res.json).access_token;
}

function claimsOf(jwt: string) {
  const [, payload = ''] = jwt.split('.');
  return Claims.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
}

function mdeError(json: unknown) {
  return MdeErrorBody.parse(json).error;
}

describe('test certificate', () => {
  it('is for CN=127.0.0.1 with IP and DNS subject alternative names', () => {
    const cert = new X509Certificate(tls.cert);
    expect(cert.subject).toContain('CN=127.0.0.1');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('DNS:localhost');
  });
});

describe('Entra token endpoint', () => {
  it('issues a one-hour bearer JWT for the MDE audience with tid, appid and roles', async () => {
    const peer = await newPeer();
    const res = await send(`${peer.url}/${TENANT}/oauth2/v2.0/token`, { form: tokenForm() });
    expect(res.status).toBe(200);
    const body = TokenBody.parse(res.json);
    expect(body.ext_expires_in).toBe(3599);
    expect(body.access_token.split('.')).toHaveLength(3);
    const claims = claimsOf(body.access_token);
    expect(claims).toMatchObject({
      aud: 'https://api.securitycenter.microsoft.com',
      tid: TENANT,
      appid: CLIENT,
      roles: ['Machine.Read.All', 'Machine.Isolate'],
    });
    expect(claims.exp).toBe(T0 / 1000 + 3599);
    expect(peer.tokensIssued()).toBe(1);
  });

  it('accepts the tenant domain, the windowsatpservice scope and the legacy v1 resource form', async () => {
    const peer = await newPeer();
    const atp = 'https://securitycenter.onmicrosoft.com/windowsatpservice/.default';
    const byDomain = await send(`${peer.url}/${DOMAIN}/oauth2/v2.0/token`, {
      form: tokenForm(CLIENT, SECRET, atp),
    });
    expect(claimsOf(TokenBody.parse(byDomain.json).access_token).aud).toBe(
      'https://api.securitycenter.microsoft.com',
    );
    const v1 = await send(`${peer.url}/${TENANT}/oauth2/token`, {
      form: {
        grant_type: 'client_credentials',
        client_id: CLIENT,
        client_secret: SECRET,
        resource: 'https://api.securitycenter.microsoft.com',
      },
    });
    expect(v1.status).toBe(200);
    expect(peer.tokensIssued()).toBe(2);
  });

  it('issues a token without roles for an app without consent, which MDE then refuses with 403', async () => {
    const peer = await newPeer();
    const jwt = await token(peer, NO_ROLES);
    expect(claimsOf(jwt).roles).toBeUndefined();
    const res = await send(`${peer.url}/api/machines?$top=1`, { token: jwt });
    expect(res.status).toBe(403);
    expect(mdeError(res.json).code).toBe('Forbidden');
  });

  it('issues a token for the M365 Defender scope that MDE refuses with 403', async () => {
    const peer = await newPeer();
    const jwt = await token(peer, CLIENT, 'https://api.security.microsoft.com/.default');
    expect(claimsOf(jwt).aud).toBe('https://api.security.microsoft.com');
    const res = await send(`${peer.url}/api/machines`, { token: jwt });
    expect(res.status).toBe(403);
    expect(mdeError(res.json).message).toContain('Machine.Read.All');
  });

  const cases: [string, string, Record<string, string>, number, string, number][] = [
    [
      'an unknown tenant GUID',
      '0b0b0b0b-0000-4000-8000-000000000000',
      tokenForm(),
      400,
      'invalid_request',
      90002,
    ],
    ['an unknown tenant domain', 'fabrikam.onmicrosoft.com', tokenForm(), 400, 'invalid_request', 90002],
    ['a malformed tenant', 'asdf', tokenForm(), 400, 'invalid_request', 900023],
    [
      'an unknown client id',
      TENANT,
      tokenForm('0c0c0c0c-0000-4000-8000-000000000000'),
      400,
      'unauthorized_client',
      700016,
    ],
    [
      'a wrong secret (the secret ID)',
      TENANT,
      tokenForm(CLIENT, '5f5e-secret-id'),
      401,
      'invalid_client',
      7000215,
    ],
    ['an expired secret', TENANT, tokenForm('expired-app'), 401, 'invalid_client', 7000222],
    ['a missing secret', TENANT, tokenForm(CLIENT, ''), 400, 'invalid_request', 7000218],
    [
      'a tenant without MDE',
      '5e5e5e5e-0000-4000-8000-000000000000',
      tokenForm(),
      400,
      'invalid_resource',
      500011,
    ],
    ['a disabled app', TENANT, tokenForm('disabled-app'), 400, 'unauthorized_client', 7000112],
    [
      'a scope without /.default',
      TENANT,
      tokenForm(CLIENT, SECRET, 'Machine.Read.All'),
      400,
      'invalid_scope',
      70011,
    ],
  ];
  it.each(cases)(
    'refuses %s with the AADSTS error body',
    async (_name, tenant, form, status, error, code) => {
      const peer = await newPeer();
      peer.addApp({ tenantId: TENANT, clientId: 'expired-app', secret: SECRET, secretExpired: true });
      peer.addApp({ tenantId: TENANT, clientId: 'disabled-app', secret: SECRET, disabled: true });
      peer.addTenantWithoutMde('5e5e5e5e-0000-4000-8000-000000000000');
      const res = await send(`${peer.url}/${tenant}/oauth2/v2.0/token`, { form });
      expect(res.status).toBe(status);
      const body = AadErrorBody.parse(res.json);
      expect(body.error).toBe(error);
      expect(body.error_codes).toEqual([code]);
      expect(body.error_description.startsWith(`AADSTS${code}: `)).toBe(true);
      expect(peer.tokensIssued()).toBe(0);
    },
  );

  it('serves OpenID metadata for a known tenant, pointing at its own token endpoint', async () => {
    const peer = await newPeer();
    const res = await send(`${peer.url}/${DOMAIN}/v2.0/.well-known/openid-configuration`);
    expect(res.json).toMatchObject({
      token_endpoint: `${peer.url}/${TENANT}/oauth2/v2.0/token`,
      issuer: `${peer.url}/${TENANT}/v2.0`,
    });
    const unknown = await send(`${peer.url}/fabrikam.com/v2.0/.well-known/openid-configuration`);
    expect(AadErrorBody.parse(unknown.json).error_codes).toEqual([90002]);
  });
});

describe('MDE bearer and role checks', () => {
  it('answers 401 Unauthorized for a missing, forged or expired token', async () => {
    const peer = await newPeer();
    const jwt = await token(peer);
    const [h, p] = jwt.split('.');
    for (const bad of [undefined, 'not-a-jwt', `${h}.${p}.AAAA`]) {
      const res = await send(`${peer.url}/api/machines`, bad === undefined ? {} : { token: bad });
      expect(res.status).toBe(401);
      expect(mdeError(res.json).code).toBe('Unauthorized');
    }
    nowMs = T0 + 3600_000;
    expect((await send(`${peer.url}/api/machines`, { token: jwt })).status).toBe(401);
    expect(peer.requests.every((r) => r.tokenRoles === null)).toBe(true);
  });

  it('answers 403 naming the missing permissions, with a fresh GUID target each time', async () => {
    const peer = await newPeer();
    const [m] = peer.generateMachines(1);
    peer.addMachines(m ? [m] : []);
    const readOnly = await token(peer, READ_ONLY);
    const isolate = await send(`${peer.url}/api/machines/${m?.id}/isolate`, {
      token: readOnly,
      json: { Comment: 'x' },
    });
    expect(isolate.status).toBe(403);
    expect(mdeError(isolate.json).message).toBe(
      'The application does not have any of the required application permissions (Machine.Isolate) to access the resource.',
    );
    const isolateOnly = await token(peer, ISOLATE_ONLY);
    const read1 = await send(`${peer.url}/api/machines`, { token: isolateOnly });
    const read2 = await send(`${peer.url}/api/machineactions`, { token: isolateOnly });
    expect(mdeError(read1.json).message).toContain('(Machine.ReadWrite.All, Machine.Read.All)');
    expect(mdeError(read1.json).target).not.toBe(mdeError(read2.json).target);
    expect(peer.requests.at(-1)?.tokenRoles).toEqual(['Machine.Isolate']);
  });

  it('serves /api/v1.0 like /api, with the OData response headers', async () => {
    const peer = await newPeer();
    peer.addMachines(peer.generateMachines(2));
    const jwt = await token(peer);
    const res = await send(`${peer.url}/api/v1.0/machines`, { token: jwt });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(ODATA_CT);
    expect(res.headers.get('odata-version')).toBe('4.0');
    expect(List.parse(res.json).value).toHaveLength(2);
  });
});

describe('machines', () => {
  const FIELDS = [
    'id',
    'mergedIntoMachineId',
    'isPotentialDuplication',
    'isExcluded',
    'exclusionReason',
    'computerDnsName',
    'firstSeen',
    'lastSeen',
    'osPlatform',
    'osVersion',
    'version',
    'osProcessor',
    'osArchitecture',
    'osBuild',
    'agentVersion',
    'lastIpAddress',
    'lastExternalIpAddress',
    'ipAddresses',
    'healthStatus',
    'onboardingStatus',
    'riskScore',
    'exposureLevel',
    'deviceValue',
    'rbacGroupId',
    'rbacGroupName',
    'isAadJoined',
    'aadDeviceId',
    'machineTags',
    'defenderAvStatus',
    'managedBy',
    'managedByStatus',
    'vmMetadata',
  ];

  it('builds machines with the full field set, realistic defaults and no isolation state', async () => {
    const peer = await newPeer();
    const m = peer.machine({ computerDnsName: 'web-07' });
    expect(Object.keys(m).sort()).toEqual([...FIELDS].sort());
    expect(m.id).toMatch(/^[0-9a-f]{40}$/);
    expect(m).toMatchObject({
      computerDnsName: 'web-07',
      onboardingStatus: 'Onboarded',
      osVersion: null,
      rbacGroupId: 0,
      rbacGroupName: null,
    });
    expect(m.ipAddresses.map((a) => a.type)).toContain('SoftwareLoopback');
    expect(m.ipAddresses.some((a) => a.ipAddress.includes(':'))).toBe(true);
    expect(peer.machine().id).not.toBe(m.id);
    const fleet = peer.sampleFleet();
    expect(fleet.filter((x) => x.computerDnsName === 'web-01.contoso.com')).toHaveLength(3);
    expect(fleet.map((x) => x.onboardingStatus)).toContain('CanBeOnboarded');
    expect(JSON.stringify(fleet)).not.toMatch(/isolat/i);
  });

  it('answers 404 for an empty list, and 200 or 404 ResourceNotFound by id', async () => {
    const peer = await newPeer();
    const jwt = await token(peer);
    expect((await send(`${peer.url}/api/machines`, { token: jwt })).status).toBe(404);
    const m = peer.machine();
    peer.addMachines([m]);
    const one = await send(`${peer.url}/api/machines/${m.id}`, { token: jwt });
    expect(one.json).toMatchObject({
      '@odata.context': `${peer.url}/api/$metadata#Machines/$entity`,
      id: m.id,
    });
    const missing = await send(`${peer.url}/api/machines/123123123`, { token: jwt });
    expect(missing.status).toBe(404);
    expect(mdeError(missing.json)).toMatchObject({
      code: 'ResourceNotFound',
      message: 'Machine 123123123 was not found',
    });
  });

  const filters: [string, string[]][] = [
    ["computerDnsName eq 'WEB-01.contoso.com'", ['web-01', 'web-01-dup', 'web-01-old']],
    ["startswith(computerDnsName,'design-mac')", ['mac-old', 'mac-new']],
    ["machineTags/any(tag: tag eq 'production')", ['db-01', 'vm-app-01']],
    ["healthStatus ne 'Active' and onboardingStatus eq 'Onboarded'", ['lt-0042']],
    ['lastSeen lt 2025-05-25Z', ['web-01-dup', 'web-01-old', 'lt-0042']],
    ['lastSeen ge 2025-05-12T12:00:00Z and lastSeen le 2025-05-23T12:00:00.000Z', ['web-01-dup', 'lt-0042']],
    ['rbacGroupId eq 42', ['vm-app-01']],
    ["(osPlatform eq 'Linux') and riskScore eq 'Low'", ['db-01']],
    ["onboardingStatus eq 'CanBeOnboarded' and aadDeviceId eq null", ['printer']],
  ];
  it.each(filters)('filters %s', async (filter, expected) => {
    const peer = await newPeer();
    const fleet = peer.sampleFleet();
    peer.addMachines(fleet);
    const names = new Map(
      fleet.map((m, i) => [
        m.id,
        [
          'web-01',
          'web-01-dup',
          'web-01-old',
          'desktop',
          'lt-0042',
          'printer',
          'db-01',
          'mac-old',
          'mac-new',
          'vm-app-01',
        ][i],
      ]),
    );
    const res = await send(`${peer.url}/api/machines?$filter=${encodeURIComponent(filter)}`, {
      token: await token(peer),
    });
    expect(res.status).toBe(200);
    expect(List.parse(res.json).value.map((m) => names.get(m.id))).toEqual(expected);
  });

  it('answers 404 when a filter matches nothing', async () => {
    const peer = await newPeer();
    peer.addMachines(peer.sampleFleet());
    const res = await send(
      `${peer.url}/api/machines?$filter=${encodeURIComponent("computerDnsName eq 'nope'")}`,
      {
        token: await token(peer),
      },
    );
    expect(res.status).toBe(404);
  });

  const badQueries = [
    `$filter=${encodeURIComponent("computerDnsName eq 'a' or computerDnsName eq 'b'")}`,
    `$filter=${encodeURIComponent('firstSeen gt 2024-01-01Z')}`,
    `$filter=${encodeURIComponent("contains(computerDnsName,'web')")}`,
    `$filter=${encodeURIComponent("lastSeen gt '2024-01-01'")}`,
    `$filter=${encodeURIComponent("healthStatus gt 'Active'")}`,
    `$filter=${encodeURIComponent("(computerDnsName eq 'x'")}`,
    `$filter=${encodeURIComponent('computerDnsName eq')}`,
    '$top=10001',
    '$top=-1',
    '$orderby=lastSeen',
  ];
  it.each(badQueries)('refuses %s with 400 ODataError', async (query) => {
    const peer = await newPeer();
    peer.addMachines(peer.sampleFleet());
    const res = await send(`${peer.url}/api/machines?${query}`, { token: await token(peer) });
    expect(res.status).toBe(400);
    expect(mdeError(res.json).code).toBe('ODataError');
  });

  it('pages 25,000 machines in three calls by following the absolute @odata.nextLink', async () => {
    const peer = await newPeer();
    const started = Date.now();
    const fleet = peer.generateMachines(25_000);
    expect(peer.generateMachines(3).map((m) => m.id)).toEqual(fleet.slice(0, 3).map((m) => m.id));
    peer.addMachines(fleet);
    const jwt = await token(peer);
    const ids = new Set<string>();
    let next: string | undefined = `${peer.url}/api/machines`;
    let calls = 0;
    while (next) {
      const page = List.parse((await send(next, { token: jwt })).json);
      calls++;
      for (const m of page.value) {
        ids.add(m.id);
      }
      next = page['@odata.nextLink'];
      if (next) {
        expect(next.startsWith(`${peer.url}/api/machines?`)).toBe(true);
      }
    }
    expect(calls).toBe(3);
    expect(ids.size).toBe(25_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('keeps $filter and $top in the nextLink and honours $skip', async () => {
    const peer = await newPeer();
    peer.addMachines(peer.generateMachines(10, { prefix: 'web' }));
    peer.addMachines(peer.generateMachines(5, { prefix: 'db' }));
    const jwt = await token(peer);
    const filter = encodeURIComponent("startswith(computerDnsName,'web-')");
    const first = List.parse(
      (await send(`${peer.url}/api/machines?$filter=${filter}&$top=4`, { token: jwt })).json,
    );
    expect(first.value.map((m) => m.computerDnsName)).toEqual(['web-0', 'web-1', 'web-2', 'web-3']);
    expect(first['@odata.nextLink']).toBe(`${peer.url}/api/machines?$filter=${filter}&$top=4&$skip=4`);
    const last = List.parse(
      (await send(`${peer.url}/api/machines?$filter=${filter}&$top=4&$skip=8`, { token: jwt })).json,
    );
    expect(last.value).toHaveLength(2);
    expect(last['@odata.nextLink']).toBeUndefined();
  });

  it('finds machines by internal IP within 30 days, possibly several', async () => {
    const peer = await newPeer();
    const fleet = peer.sampleFleet();
    peer.addMachines(fleet);
    const jwt = await token(peer);
    const shared = fleet[3]?.lastIpAddress ?? '';
    const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    const url = (ip: string, ts: string) =>
      `${peer.url}/api/machines/findbyip(ip=%27${ip}%27,timestamp=${ts})`;
    const hit = await send(url(shared, at(T0 - 3_600_000)), { token: jwt });
    expect(List.parse(hit.json).value.map((m) => m.computerDnsName)).toEqual([
      'se-pov-desktop',
      'lt-0042.contoso.com',
    ]);
    expect(List.parse((await send(url('172.31.0.1', at(T0)), { token: jwt })).json).value).toEqual([]);
    const old = await send(url(shared, at(T0 - 31 * 86_400_000)), { token: jwt });
    expect(old.status).toBe(400);
    expect((await send(url('10.0.0.999', at(T0)), { token: jwt })).status).toBe(400);
  });

  it('finds machines by tag, exactly or by prefix', async () => {
    const peer = await newPeer();
    peer.addMachines(peer.sampleFleet());
    const jwt = await token(peer);
    const exact = await send(`${peer.url}/api/machines/findbytag?tag=Prod`, { token: jwt });
    expect(List.parse(exact.json).value).toEqual([]);
    const prefix = await send(`${peer.url}/api/machines/findbytag?tag=Prod&useStartsWithFilter=true`, {
      token: jwt,
    });
    expect(List.parse(prefix.json).value.map((m) => m.computerDnsName)).toEqual([
      'db-01.contoso.com',
      'vm-app-01.contoso.com',
    ]);
  });
});

describe('isolate and release', () => {
  async function setup(opts: Partial<MdePeerOptions> = {}) {
    const peer = await newPeer(opts);
    const fleet = peer.sampleFleet();
    peer.addMachines(fleet);
    const pick = (name: string): MdeMachine => {
      const m = fleet.find((x) => x.computerDnsName === name);
      if (!m) {
        throw new Error(name);
      }
      return m;
    };
    const jwt = await token(peer);
    const post = (id: string, verb: string, json: unknown) =>
      send(`${peer.url}/api/machines/${id}/${verb}`, { token: jwt, json });
    return { peer, pick, post, jwt };
  }

  it('creates a Pending Isolate action with the §6.4 fields and records the call', async () => {
    const { peer, pick, post } = await setup();
    const m = pick('se-pov-desktop');
    const before = JSON.stringify(m);
    const res = await post(m.id, 'isolate', { Comment: 'hostlock: case 1234', IsolationType: 'Selective' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe(ODATA_CT);
    const action = Action.parse(res.json);
    expect(action).toMatchObject({
      type: 'Isolate',
      scope: 'Selective',
      status: 'Pending',
      requestor: `hostlock (${DOMAIN})`,
      requestorComment: 'hostlock: case 1234',
      requestSource: 'PublicApi',
      machineId: m.id,
      computerDnsName: 'se-pov-desktop',
      creationDateTimeUtc: new Date(T0).toISOString(),
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      errorHResult: 0,
      commands: [],
    });
    expect(JSON.stringify(m)).toBe(before);
    expect(peer.actions.map((a) => a.id)).toEqual([action.id]);
    expect(peer.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: `/api/machines/${m.id}/isolate`,
      query: '',
      status: 201,
      tokenRoles: ['Machine.Read.All', 'Machine.Isolate'],
    });
    expect(peer.requests.at(-1)?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(peer.requests.at(-1)?.body ?? '')).toEqual({
      Comment: 'hostlock: case 1234',
      IsolationType: 'Selective',
    });
  });

  const badBodies: [string, string, string][] = [
    ['lower-case comment', JSON.stringify({ comment: 'x' }), 'InvalidRequestBody'],
    [
      'lower-case isolationType',
      JSON.stringify({ Comment: 'x', isolationType: 'Full' }),
      'InvalidRequestBody',
    ],
    ['no Comment', JSON.stringify({ IsolationType: 'Full' }), 'MissingRequiredParameter'],
    ['an empty Comment', JSON.stringify({ Comment: '' }), 'MissingRequiredParameter'],
    ['a body that is not JSON', 'Comment=x', 'InvalidRequestBody'],
    ['an unknown IsolationType', JSON.stringify({ Comment: 'x', IsolationType: 'Partial' }), 'InvalidInput'],
  ];
  it.each(badBodies)('refuses %s with 400', async (_name, body, code) => {
    const { peer, pick, jwt } = await setup();
    const res = await send(`${peer.url}/api/machines/${pick('web-01.contoso.com').id}/isolate`, {
      token: jwt,
      body,
    });
    expect(res.status).toBe(400);
    expect(mdeError(res.json).code).toBe(code);
    expect(peer.actions).toEqual([]);
  });

  it('refuses unknown machines and unsupported platforms', async () => {
    const { peer, pick, post } = await setup();
    const unknown = await post('0000000000000000000000000000000000000000', 'isolate', { Comment: 'x' });
    expect(unknown.status).toBe(404);
    expect(mdeError(unknown.json).code).toBe('ResourceNotFound');
    const linux = await post(pick('db-01.contoso.com').id, 'isolate', {
      Comment: 'x',
      IsolationType: 'Selective',
    });
    expect(mdeError(linux.json)).toMatchObject({
      code: 'OsPlatformNotSupported',
      message: "OS Platform Linux isn't supported for this action",
    });
    const oldMac = await post(pick('design-mac-01').id, 'isolate', { Comment: 'x' });
    expect(mdeError(oldMac.json).code).toBe('ClientVersionNotSupported');
    const printer = peer.sampleFleet()[5]?.id ?? '';
    expect((await post(printer, 'isolate', { Comment: 'x' })).status).toBe(400);
    expect(peer.actions).toEqual([]);
    const contain = await post(printer, 'isolate', { Comment: 'x', IsolationType: 'UnManagedDevice' });
    expect(contain.status).toBe(201);
    expect((await post(pick('db-01.contoso.com').id, 'isolate', { Comment: 'x' })).status).toBe(201);
    expect((await post(pick('design-mac-02').id, 'isolate', { Comment: 'x' })).status).toBe(201);
  });

  it('refuses a second isolate or release of the same kind while one is active', async () => {
    const { peer, pick, post } = await setup();
    const id = pick('web-01.contoso.com').id;
    expect((await post(id, 'isolate', { Comment: 'first' })).status).toBe(201);
    const dup = await post(id, 'isolate', { Comment: 'second' });
    expect(dup.status).toBe(400);
    expect(mdeError(dup.json)).toMatchObject({
      code: 'ActiveRequestAlreadyExists',
      message: 'Action is already in progress',
    });
    const release = await post(id, 'unisolate', { Comment: 'release' });
    expect(Action.parse(release.json)).toMatchObject({ type: 'Unisolate', scope: null, status: 'Pending' });
    expect(mdeError((await post(id, 'unisolate', { Comment: 'again' })).json).code).toBe(
      'ActiveRequestAlreadyExists',
    );
    peer.advanceActions();
    expect(mdeError((await post(id, 'isolate', { Comment: 'third' })).json).code).toBe(
      'ActiveRequestAlreadyExists',
    );
    peer.advanceActions();
    expect((await post(id, 'isolate', { Comment: 'after success' })).status).toBe(201);
  });

  it('can answer a duplicate with the existing active action instead (issue #5903 mode)', async () => {
    const { pick, post } = await setup({ duplicateActionMode: 'returnExisting' });
    const id = pick('web-01.contoso.com').id;
    const first = Action.parse((await post(id, 'isolate', { Comment: 'first' })).json);
    const second = await post(id, 'isolate', { Comment: 'second' });
    expect(second.status).toBe(201);
    expect(Action.parse(second.json).id).toBe(first.id);
  });
});

describe('machine actions', () => {
  async function withActions() {
    const peer = await newPeer();
    const [a, b] = peer.generateMachines(2);
    if (!a || !b) {
      throw new Error('fleet');
    }
    peer.addMachines([a, b]);
    const jwt = await token(peer);
    const isolate = async (id: string) =>
      Action.parse(
        (await send(`${peer.url}/api/machines/${id}/isolate`, { token: jwt, json: { Comment: 'c' } })).json,
      );
    const get = async (path: string) => send(`${peer.url}/api/machineactions${path}`, { token: jwt });
    return { peer, a, b, jwt, isolate, get };
  }

  it('moves Pending → InProgress → Succeeded on the test clock, and scripted outcomes once', async () => {
    const { peer, a, b, isolate, get } = await withActions();
    const ok = await isolate(a.id);
    peer.scriptOutcome(b.id, 'TimeOut');
    const timedOut = await isolate(b.id);
    nowMs += 60_000;
    peer.advanceActions();
    expect(Action.parse((await get(`/${ok.id}`)).json)).toMatchObject({
      status: 'InProgress',
      lastUpdateDateTimeUtc: new Date(T0 + 60_000).toISOString(),
    });
    nowMs += 60_000;
    peer.advanceActions();
    expect(Action.parse((await get(`/${ok.id}`)).json)).toMatchObject({
      status: 'Succeeded',
      creationDateTimeUtc: new Date(T0).toISOString(),
      lastUpdateDateTimeUtc: new Date(T0 + 120_000).toISOString(),
    });
    expect(peer.actions.find((x) => x.id === timedOut.id)?.status).toBe('TimeOut');
    peer.scriptOutcome(a.id, 'Failed');
    const release = Action.parse(
      (
        await send(`${peer.url}/api/machines/${a.id}/unisolate`, {
          token: await token(peer),
          json: { Comment: 'r' },
        })
      ).json,
    );
    peer.advanceActions();
    peer.advanceActions();
    expect(peer.actions.find((x) => x.id === release.id)?.status).toBe('Failed');
    const again = await isolate(b.id);
    peer.advanceActions();
    peer.advanceActions();
    expect(peer.actions.find((x) => x.id === again.id)?.status).toBe('Succeeded');
    expect((await get('/8a8a8a8a-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('lists newest first with $filter on machineId, type, status, requestor and creationDateTimeUtc', async () => {
    const { peer, a, b, isolate, get } = await withActions();
    const portal = peer.addAction({
      machineId: a.id,
      creationDateTimeUtc: new Date(T0 - 86_400_000).toISOString(),
    });
    const first = await isolate(b.id);
    nowMs += 1000;
    const second = await isolate(a.id);
    const ids = async (filter?: string, extra = '') => {
      const q = filter === undefined ? '' : `?$filter=${encodeURIComponent(filter)}${extra}`;
      const res = await get(q);
      expect(res.status).toBe(200);
      return List.parse(res.json).value.map((x) => x.id);
    };
    expect(await ids()).toEqual([second.id, first.id, portal.id]);
    expect(await ids(`machineId eq '${a.id}' and type eq 'Isolate'`)).toEqual([second.id, portal.id]);
    expect(await ids("status eq 'Succeeded'")).toEqual([portal.id]);
    expect(await ids(`requestor eq 'hostlock (${DOMAIN})'`, '&$top=1&$skip=1')).toEqual([first.id]);
    expect(await ids(`creationDateTimeUtc ge ${new Date(T0).toISOString()}`)).toEqual([second.id, first.id]);
    expect(await ids(`id eq '${first.id}'`)).toEqual([first.id]);
    expect(await ids("type eq 'Unisolate'")).toEqual([]);
    const bad = await get(`?$filter=${encodeURIComponent("title eq 'x'")}`);
    expect(mdeError(bad.json).code).toBe('ODataError');
  });

  it('cancels an active action with the cancellation fields, and refuses unknown or final ones', async () => {
    const { peer, a, b, jwt, isolate } = await withActions();
    const action = await isolate(a.id);
    const cancel = (id: string, json: unknown) =>
      send(`${peer.url}/api/machineactions/${id}/cancel`, { token: jwt, json });
    expect(mdeError((await cancel(action.id, { comment: 'x' })).json).code).toBe('InvalidRequestBody');
    nowMs += 5000;
    const res = await cancel(action.id, { Comment: 'wrong host' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: action.id,
      status: 'Cancelled',
      cancellationRequestor: `hostlock (${DOMAIN})`,
      cancellationComment: 'wrong host',
      cancellationDateTimeUtc: new Date(T0 + 5000).toISOString(),
      lastUpdateDateTimeUtc: new Date(T0 + 5000).toISOString(),
    });
    expect((await cancel(action.id, { Comment: 'again' })).status).toBe(400);
    expect((await cancel('8a8a8a8a-0000-4000-8000-000000000000', { Comment: 'x' })).status).toBe(404);
    const readOnly = await token(peer, READ_ONLY);
    const other = await isolate(b.id);
    const forbidden = await send(`${peer.url}/api/machineactions/${other.id}/cancel`, {
      token: readOnly,
      json: { Comment: 'x' },
    });
    expect(forbidden.status).toBe(403);
    expect(peer.cancelAction(other.id, { comment: 'from test' })).toMatchObject({
      status: 'Cancelled',
      cancellationRequestor: 'analyst@contoso.com',
    });
    expect(() => peer.cancelAction(other.id)).toThrow(/Cancelled/);
  });
});

describe('rate limits', () => {
  it('answers 429 TooManyRequests with Retry-After per API family, per minute and per hour', async () => {
    const peer = await newPeer({ rateLimit: { perMinute: 3, perHour: 5 } });
    peer.addMachines(peer.generateMachines(1));
    const jwt = await token(peer);
    const read = () => send(`${peer.url}/api/machines`, { token: jwt });
    for (let i = 0; i < 3; i++) {
      expect((await read()).status).toBe(200);
      nowMs += 10_000;
    }
    const limited = await read();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(mdeError(limited.json).code).toBe('TooManyRequests');
    expect((await send(`${peer.url}/api/machineactions`, { token: jwt })).status).toBe(200);
    nowMs += 31_000;
    expect((await read()).status).toBe(200);
    nowMs += 61_000;
    expect((await read()).status).toBe(200);
    nowMs += 61_000;
    const hourly = await read();
    expect(hourly.status).toBe(429);
    expect(Number(hourly.headers.get('retry-after'))).toBeGreaterThan(3000);
  });

  it('uses a fixed Retry-After when configured', async () => {
    const peer = await newPeer({ rateLimit: { perMinute: 1, retryAfterSeconds: 7 } });
    const jwt = await token(peer);
    await send(`${peer.url}/api/machineactions`, { token: jwt });
    const res = await send(`${peer.url}/api/machineactions`, { token: jwt });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });
});

describe('injected faults', () => {
  it('take precedence, match method and path, and are consumed in order', async () => {
    const peer = await newPeer();
    peer.addMachines(peer.generateMachines(1));
    const jwt = await token(peer);
    peer.inject({ method: 'POST', path: /\/isolate$/, status: 503 });
    peer.inject({ path: /^\/api\/machines$/, status: 500, times: 2 });
    peer.inject({
      path: /^\/api\/machineactions$/,
      status: 429,
      code: 'TooManyRequests',
      message: 'slow down',
      retryAfterSeconds: 12,
    });
    const first = await send(`${peer.url}/api/machines`);
    expect(first.status).toBe(500);
    expect(mdeError(first.json)).toMatchObject({ code: 'InternalServerError', message: '' });
    expect((await send(`${peer.url}/api/machines`, { token: jwt })).status).toBe(500);
    expect((await send(`${peer.url}/api/machines`, { token: jwt })).status).toBe(200);
    const throttled = await send(`${peer.url}/api/machineactions`, { token: jwt });
    expect(throttled.headers.get('retry-after')).toBe('12');
    expect(mdeError(throttled.json)).toMatchObject({ code: 'TooManyRequests', message: 'slow down' });
    expect((await send(`${peer.url}/api/machineactions`, { token: jwt })).status).toBe(200);
    expect(peer.requests.map((r) => r.status)).toEqual([200, 500, 500, 200, 429, 200]);
  });

  it('can drop the connection, and can fail the token endpoint', async () => {
    const peer = await newPeer();
    peer.inject({ path: /\/oauth2\/v2\.0\/token$/, status: 500, destroySocket: true });
    await expect(send(`${peer.url}/${TENANT}/oauth2/v2.0/token`, { form: tokenForm() })).rejects.toThrow();
    expect(peer.requests.at(-1)?.status).toBe(0);
    peer.inject({ path: /\/token$/, status: 503, code: 'temporarily_unavailable' });
    const res = await send(`${peer.url}/${TENANT}/oauth2/v2.0/token`, { form: tokenForm() });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await send(`${peer.url}/${TENANT}/oauth2/v2.0/token`, { form: tokenForm() })).status).toBe(200);
    expect(peer.tokensIssued()).toBe(1);
  });
});

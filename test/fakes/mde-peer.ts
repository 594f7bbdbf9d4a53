/**
 * Defender peer: a fake Entra ID token endpoint and MDE REST API on one HTTPS origin, written only
 * from shared/reference/mde-api.md (an independent contract for src/mde/, never derived from it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ActionStore } from './mde/actions.js';
import { type ApiRoute, MdeApi } from './mde/api.js';
import { CLOUD_AUDIENCE, Entra } from './mde/entra.js';
import { defaultCode, mdeError, PLAIN_JSON, RateLimiter, type Reply } from './mde/http.js';
import { buildMachine, generateMachines, ipFor, sampleFleet } from './mde/machines.js';
import type { MdeFault, MdeMachineAction, MdePeer, MdePeerOptions, RecordedRequest } from './mde/types.js';

export type {
  MdeActionStatus,
  MdeActionType,
  MdeApp,
  MdeFault,
  MdeIpAddress,
  MdeMachine,
  MdeMachineAction,
  MdePeer,
  MdePeerOptions,
  MdeVmMetadata,
  RecordedRequest,
} from './mde/types.js';
export { createTestCertificate, type TestCertificate } from './tls.js';

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) {
      out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return out;
}

function write(res: ServerResponse, reply: Reply, breakAfterBytes?: number): void {
  const text = Buffer.from(JSON.stringify(reply.body));
  res.writeHead(reply.status, { ...reply.headers, 'content-length': text.length });
  if (breakAfterBytes === undefined) {
    res.end(text);
    return;
  }
  res.write(text.subarray(0, breakAfterBytes), () => res.destroy());
}

/**
 * Starts the peer on `https://127.0.0.1:<random port>`.
 *
 * Every request is recorded, then answered in this order: the first matching injected fault;
 * Entra routes (`/{tenant}/oauth2/v2.0/token`, `/{tenant}/v2.0/.well-known/openid-configuration`);
 * API routes under `/api` or `/api/v1.0` (unknown route 404 → bearer 401 → role/audience 403 →
 * rate limit 429 → the handler).
 */
export async function startMdePeer(opts: MdePeerOptions): Promise<MdePeer> {
  const now = opts.now ?? (() => new Date());
  let url = '';
  const entra = new Entra(() => url, now, opts.cloud);
  const actions = new ActionStore(now);
  const api = new MdeApi({
    now,
    actions,
    baseUrl: () => url,
    duplicateMode: opts.duplicateActionMode ?? 'reject',
  });
  const limits = opts.rateLimit ?? {};
  const limiter = new RateLimiter(limits.perMinute ?? 100, limits.perHour ?? 1500, limits.retryAfterSeconds);
  const faults: (MdeFault & { left: number })[] = [];
  const requests: RecordedRequest[] = [];
  let machineCount = 0;

  const takeFault = (method: string, path: string): MdeFault | undefined => {
    const i = faults.findIndex(
      (f) => (!f.method || f.method.toUpperCase() === method) && (!f.path || f.path.test(path)),
    );
    const fault = faults[i];
    if (fault && --fault.left <= 0) {
      faults.splice(i, 1);
    }
    return fault;
  };

  const faultReply = (fault: MdeFault, isApi: boolean): Reply => {
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    if (isApi) {
      return mdeError(fault.status, fault.code ?? defaultCode(fault.status), fault.message ?? '', headers);
    }
    const body = {
      error: fault.code ?? 'temporarily_unavailable',
      error_description: fault.message ?? '',
      error_codes: [],
    };
    return { status: fault.status, headers: { 'content-type': PLAIN_JSON, ...headers }, body };
  };

  const apiReply = (
    route: ApiRoute,
    rest: string[],
    rec: RecordedRequest,
    rawQuery: string,
    path: string,
  ): Reply => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(rec.headers.authorization ?? '');
    const claims = bearer?.[1] ? entra.verify(bearer[1]) : null;
    if (!claims) {
      return mdeError(
        401,
        'Unauthorized',
        'Authorization header is missing, or the token is invalid or expired.',
      );
    }
    const roles = claims.roles ?? [];
    rec.tokenRoles = roles;
    if (claims.aud !== CLOUD_AUDIENCE[entra.cloud] || !route.roles.some((r) => roles.includes(r))) {
      return mdeError(
        403,
        'Forbidden',
        `The application does not have any of the required application permissions (${route.roles.join(', ')}) to access the resource.`,
      );
    }
    const retryAfter = limiter.take(`${route.family}|${claims.tid}`, now().getTime());
    if (retryAfter !== null) {
      return mdeError(429, 'TooManyRequests', `Rate limit is exceeded. Try again in ${retryAfter} seconds.`, {
        'retry-after': String(retryAfter),
      });
    }
    return route.run({
      rest,
      query: new URLSearchParams(rawQuery),
      body: rec.body,
      requestor: `${claims.app_displayname} (${entra.domainOf(claims.tid)})`,
      linkBase: `${url}${path}`,
    });
  };

  const answer = (rec: RecordedRequest, rawQuery: string): Reply => {
    let segments: string[];
    try {
      segments = rec.path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return mdeError(400, 'BadRequest', 'The request path is not valid percent-encoding.');
    }
    if (segments[0]?.toLowerCase() === 'api') {
      const rest = segments.slice(segments[1]?.toLowerCase() === 'v1.0' ? 2 : 1);
      const route = api.match(rec.method, rest);
      if (!route) {
        return mdeError(404, 'NotFound', `No API route matches ${rec.method} ${rec.path}.`);
      }
      return apiReply(route, rest, rec, rawQuery, rec.path);
    }
    return (
      entra.handle(rec.method, segments, rec.body, rec.headers) ?? mdeError(404, 'NotFound', 'Not found.')
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rec: RecordedRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: q < 0 ? raw : raw.slice(0, q),
      query: q < 0 ? '' : raw.slice(q + 1),
      headers: flatHeaders(req),
      body: Buffer.concat(chunks).toString('utf8'),
      status: 0,
      tokenRoles: null,
      at: now(),
    };
    requests.push(rec);
    const fault = takeFault(rec.method, rec.path);
    if (fault?.destroySocket) {
      req.socket.destroy();
      return;
    }
    const breakAfter = fault?.breakBodyAfterBytes;
    let reply: Reply;
    try {
      reply =
        fault && breakAfter === undefined
          ? faultReply(fault, rec.path.startsWith('/api'))
          : answer(rec, rec.query);
    } catch {
      reply = mdeError(500, 'InternalServerError', '');
    }
    rec.status = breakAfter === undefined ? reply.status : 0;
    write(res, reply, breakAfter);
  };

  const server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    actions: actions.all,
    addApp: (app) => entra.addApp(app),
    addTenantWithoutMde: (tenantId, tenantDomain) => entra.addTenantWithoutMde(tenantId, tenantDomain),
    machine: (overrides = {}) => {
      const n = ++machineCount;
      return {
        ...buildMachine(`machine:${n}`, `pc-${n}.contoso.com`, ipFor('10.10', n), n, now()),
        ...overrides,
      };
    },
    addMachines: (machines) => api.addMachines(machines),
    removeMachine: (id) => api.removeMachine(id),
    generateMachines: (count, o = {}) => generateMachines(count, o.prefix ?? 'host', now()),
    sampleFleet: () => sampleFleet(now()),
    tokensIssued: () => entra.issued,
    inject: (fault) => {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    addAction: (fields) => {
      const machine = api.machineById(fields.machineId) ?? { id: fields.machineId, computerDnsName: '' };
      const at = now().toISOString();
      const defaults: Partial<MdeMachineAction> = {
        type: 'Isolate',
        scope: 'Full',
        status: 'Succeeded',
        requestor: 'analyst@contoso.com',
        requestorComment: 'Isolated from the portal',
        requestSource: 'Portal',
        creationDateTimeUtc: at,
        lastUpdateDateTimeUtc: at,
      };
      return actions.create(machine, { ...defaults, type: fields.type ?? 'Isolate', ...fields });
    },
    advanceActions: () => actions.advance(),
    scriptOutcome: (machineId, status) => actions.scriptOutcome(machineId, status),
    cancelAction: (actionId, o = {}) => {
      const action = actions.find(actionId);
      if (!action) {
        throw new Error(`MDE peer: no machine action ${actionId}`);
      }
      const refusal = actions.cancel(
        action,
        o.requestor ?? 'analyst@contoso.com',
        o.comment ?? 'Cancelled by test',
      );
      if (refusal) {
        throw new Error(`MDE peer: ${refusal}`);
      }
      return action;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

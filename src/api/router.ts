import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiScope } from '../core/api-tokens/tokens.js';
import type { AutoDeps } from '../core/lockdown/auto-lockdown.js';
import type { LockdownDeps } from '../core/lockdown/ports.js';
import { createRateLimiter } from '../core/rate-limit.js';
import type { People } from '../core/roles/ports.js';
import { recordDenial } from '../core/roles/record-denial.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../log.js';
import { type ApiCaller, authenticate, requireScope } from './auth.js';
import { apiError } from './http.js';
import { openApiDocument } from './openapi.js';
import { HOST, HOST_SCORES, LOCKDOWN_HOST, LOCKDOWN_HOST_ID, OPENAPI_PATH } from './paths.js';
import { hostsAtIp } from './routes/host-at-ip.js';
import { postScores } from './routes/host-scores.js';
import { listLockdowns, lockHost, unlockHost } from './routes/lockdown-hosts.js';

export interface ApiDeps {
  store: Store;
  /** what a token's creator may do now: a token works only while its creator keeps settings:edit */
  people: People;
  lockdown: LockdownDeps;
  auto: AutoDeps;
  log: Logger;
  /** failed authentications a minute per source address (default 20) */
  authFailuresPerMinute?: number;
  /** requests a minute per token (default 600) */
  ratePerMinute?: number;
}

/** Failed authentications allowed per source address and minute (on average; bursts up to it). */
export const AUTH_FAILURES_PER_MINUTE = 20;

/** Default per-token request rate: generous for a SIEM pushing scores, tight enough to stop a runaway loop. */
export const DEFAULT_RATE_PER_MINUTE = 600;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

type Guard = (
  scope: ApiScope,
  fn: (caller: ApiCaller, req: IncomingMessage, res: ServerResponse) => Promise<void>,
  /** the route as its pattern (`DELETE /api/v2.1/lockdown/host/{id}`): what a refusal is counted under */
  route?: string,
) => Handler;

/** Wraps a route: authenticate (401), the token's rate (429), then its scope (403). */
function guard(deps: ApiDeps): Guard {
  const limiter = createRateLimiter({ perMinute: deps.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE });
  // guessing tokens: each source address gets a few failed authentications a minute, then 429s
  const failures = createRateLimiter({ perMinute: deps.authFailuresPerMinute ?? AUTH_FAILURES_PER_MINUTE });
  return (scope, fn, route) => async (req, res) => {
    // A valid token is always served; only failures are throttled, so bad tokens sent from a
    // shared address (a load balancer, a NAT) cannot lock good ones out.
    const source = req.socket.remoteAddress ?? 'unknown';
    const caller = await authenticate(deps, req, res, failures.peek(source));
    if (!caller) {
      failures.take(source);
      return;
    }
    const waitMs = limiter.take(caller.actor.tokenId);
    if (waitMs > 0) {
      req.resume();
      res.setHeader('retry-after', String(Math.ceil(waitMs / 1000)));
      apiError(
        res,
        429,
        'rate_limited',
        `Too many requests with this token; retry after ${Math.ceil(waitMs / 1000)} s.`,
      );
      return;
    }
    if (!caller.scopes.includes(scope)) {
      // audited like any refused check (DESIGN §3.4), then answered 403 naming the scope
      await recordDenial(deps.store, {
        actor: caller.actor,
        rule: 'missing_scope',
        what: route ?? `${req.method} ${req.url?.split('?')[0] ?? ''}`,
        details: { scope },
      });
    }
    if (requireScope(caller, scope, req, res)) {
      await fn(caller, req, res);
    }
  };
}

type Route = { handler: Handler; allow: string } | { allow: string } | null;

/** The route table: which handler answers a method on a path, and what the path allows. */
function routeOf(deps: ApiDeps, guarded: Guard, openapi: string): (req: IncomingMessage, url: URL) => Route {
  return (req, url) => {
    if (url.pathname === OPENAPI_PATH) {
      return req.method === 'GET'
        ? {
            allow: 'GET',
            handler: async (r, res) => {
              r.resume();
              res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(openapi);
            },
          }
        : { allow: 'GET' };
    }
    if (url.pathname === HOST) {
      return req.method === 'GET'
        ? { allow: 'GET', handler: guarded('lockdown:view', (c, _r, res) => hostsAtIp(deps, c, url, res)) }
        : { allow: 'GET' };
    }
    if (url.pathname === HOST_SCORES) {
      return req.method === 'POST'
        ? { allow: 'POST', handler: guarded('scores:write', (c, r, res) => postScores(deps, c, r, res)) }
        : { allow: 'POST' };
    }
    if (url.pathname === LOCKDOWN_HOST) {
      const allow = 'GET, POST';
      if (req.method === 'GET') {
        return { allow, handler: guarded('lockdown:view', (_c, _req, res) => listLockdowns(deps, url, res)) };
      }
      if (req.method === 'POST') {
        return { allow, handler: guarded('lockdown:edit', (c, r, res) => lockHost(deps, c, r, res)) };
      }
      return { allow };
    }
    const m = LOCKDOWN_HOST_ID.exec(url.pathname);
    if (m?.[1]) {
      const id = m[1];
      if (req.method === 'DELETE') {
        return {
          allow: 'DELETE',
          handler: guarded(
            'lockdown:edit',
            (c, r, res) => unlockHost(deps, c, id, r, res),
            `DELETE ${LOCKDOWN_HOST}/{id}`,
          ),
        };
      }
      return { allow: 'DELETE' };
    }
    return null;
  };
}

/**
 * The REST API (DESIGN §3.7) as a handler for the HTTP server: true when it took the request.
 * Every route authenticates first (401), then checks its scope (403); a failure is logged once here
 * and answered 500 without details.
 */
export function createApiRouter(
  deps: ApiDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const log = deps.log;
  const route = routeOf(deps, guard(deps), JSON.stringify(openApiDocument()));
  return (req, res, url) => {
    const found = route(req, url);
    if (!found) {
      return false;
    }
    if (!('handler' in found)) {
      req.resume();
      res.setHeader('allow', found.allow);
      apiError(
        res,
        405,
        'method_not_allowed',
        `${req.method} is not allowed on ${url.pathname}; use ${found.allow}.`,
      );
      return true;
    }
    found.handler(req, res).catch((e: unknown) => {
      log.error({ err: e, method: req.method, path: url.pathname }, 'api.request_failed');
      if (!res.headersSent) {
        apiError(
          res,
          500,
          'internal',
          'The request failed on the server (it has been logged). Try again later.',
        );
      } else {
        res.end();
      }
    });
    return true;
  };
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { apiRoute } from './paths.js';
import { type SlackRoute, serveSlackEvents } from './slack-route.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { readonly ok: boolean }>;
}

export interface ServerOptions {
  log: Logger;
  /** HTTP-mode Slack endpoint; absent in Socket Mode */
  slackEvents?: SlackRoute | undefined;
  readiness: () => Promise<Readiness>;
  /** `GET /metrics` on the ops listener, and the Slack ack timer on the public one */
  metrics?: {
    render(): Promise<{ contentType: string; body: string }>;
    slackAck(seconds: number): void;
    /** each request on the public port: its route (from a fixed set) and status */
    httpRequest?(route: string, status: number): void;
  };
  /** seconds of clock skew tolerated on Slack requests, either way */
  slackMaxSkewSeconds?: number;
  now?: () => number;
  /** REST API routes, tried for paths under `/api/`: true when the handler took the request */
  api?: ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean) | undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** /readyz: 200 when ready, else 503, with the checks as `shape` shows them. */
function answerReadiness(
  opts: Pick<ServerOptions, 'readiness' | 'log'>,
  res: ServerResponse,
  shape: (checks: Readiness['checks']) => Record<string, unknown>,
): void {
  opts.readiness().then(
    (r) =>
      sendJson(res, r.ready ? 200 : 503, {
        status: r.ready ? 'ready' : 'not_ready',
        checks: shape(r.checks),
      }),
    (e: unknown) => {
      opts.log.error({ err: e }, 'http.readiness_failed');
      sendJson(res, 503, { status: 'not_ready', checks: {} });
    },
  );
}

/**
 * The operators' listener (HOSTLOCK_OPS_ADDR, 127.0.0.1:9464 by default): `/metrics` and
 * `/readyz` with every check's details (error texts, syslog addresses, backlog), which the public
 * port does not give away (issue #14, finding 5).
 */
export function createOpsServer(opts: Pick<ServerOptions, 'readiness' | 'metrics' | 'log'>): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    req.resume();
    if (route === 'GET /healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else if (route === 'GET /readyz') {
      answerReadiness(opts, res, (checks) => checks);
    } else if (route === 'GET /metrics' && opts.metrics) {
      opts.metrics.render().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' }).end(m.body),
        (e: unknown) => {
          opts.log.error({ err: e }, 'http.metrics_failed');
          error(res, 503, 'metrics_unavailable', 'Metrics could not be read (the database may be down).');
        },
      );
    } else {
      error(res, 404, 'not_found', `No route for ${req.method} ${url.pathname}.`);
    }
  });
}

/**
 * One node:http server for Slack, health and (later) the REST API. Slack requests whose timestamp
 * is more than five minutes off in either direction are refused before Bolt sees them: Bolt alone
 * accepts future timestamps (slack.md §3.1), which would widen the replay window.
 */
export function createHttpServer(opts: ServerOptions): http.Server {
  const maxSkew = opts.slackMaxSkewSeconds ?? 300;
  const now = opts.now ?? Date.now;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const counted = opts.metrics?.httpRequest;
    if (counted) {
      res.once('finish', () =>
        counted(routeLabel(req.method ?? '', url.pathname, opts.slackEvents?.path), res.statusCode),
      );
    }
    if (route === 'GET /healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (route === 'GET /readyz') {
      // public: ready or not, and which checks pass, as booleans; details are on the ops listener
      answerReadiness(opts, res, (checks) =>
        Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, { ok: v.ok }])),
      );
      return;
    }
    if (opts.slackEvents && url.pathname === opts.slackEvents.path) {
      if (opts.metrics) {
        const started = performance.now();
        const metrics = opts.metrics;
        res.once('finish', () => metrics.slackAck((performance.now() - started) / 1000));
      }
      serveSlackEvents(opts.slackEvents, { log: opts.log, now, maxSkewSeconds: maxSkew }, req, res);
      return;
    }
    if (opts.api && url.pathname.startsWith('/api/') && opts.api(req, res, url)) {
      return;
    }
    req.resume();
    error(res, 404, 'not_found', `No route for ${req.method} ${url.pathname}.`);
  });
  // A slow or stalled client gets 30 s for its whole request (Slack sends at once), 10 s for headers.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

/**
 * A request's route as a metric label, from a fixed set (never the raw path: ids and junk paths
 * would make the label unbounded).
 */
export function routeLabel(method: string, pathname: string, slackPath?: string): string {
  if (slackPath && pathname === slackPath) {
    return 'slack_events';
  }
  if (pathname === '/healthz' || pathname === '/readyz') {
    return pathname.slice(1);
  }
  const route = apiRoute(pathname);
  const verb = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS'].includes(method)
    ? method
    : 'OTHER';
  return route ? `${verb} ${route}` : 'other';
}

/** Listens on `at`, logging the port (0 picks a free one); rejects when the address is taken. */
export function listen(
  server: http.Server,
  at: { port: number; host: string },
  log: Logger,
  what = 'http.listening',
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      const addr = server.address();
      log.info({ port: typeof addr === 'object' && addr ? addr.port : at.port, host: at.host }, what);
      resolve();
    });
  });
}

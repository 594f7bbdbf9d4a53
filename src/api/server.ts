import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { readonly ok: boolean }>;
}

export interface ServerOptions {
  log: Logger;
  /** HTTP-mode Slack endpoint; absent in Socket Mode */
  slackEvents?: { path: string; handle: (req: IncomingMessage, res: ServerResponse) => void } | undefined;
  readiness: () => Promise<Readiness>;
  /** `GET /metrics` (Prometheus text) and the Slack ack timer; absent → 404 */
  metrics?: { render(): Promise<{ contentType: string; body: string }>; slackAck(seconds: number): void };
  /** seconds of clock skew tolerated on Slack requests, either way */
  slackMaxSkewSeconds?: number;
  now?: () => number;
  /** REST API routes, tried for paths under `/api/`: true when the handler took the request */
  api?: ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean) | undefined;
}

/** Slack sends small bodies (a modal submission is well under 100 kB); anything bigger is refused. */
const MAX_SLACK_BODY_BYTES = 1_000_000;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * What makes a Slack body unfit for Bolt, which dereferences the parsed body unguarded (a signed
 * `null` is an unhandled rejection that ends the process) and leaves bodies it cannot route
 * unanswered for 3 s: the envelope must be a JSON object with a `type` (events, interactivity), a
 * form with exactly one `command` (slash commands), or Slack's `ssl_check`. Malformed JSON is left
 * to Bolt, which answers it 400.
 */
export function slackEnvelopeProblem(raw: Buffer, contentType: string): string | null {
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    if (contentType === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(text);
      const payloads = form.getAll('payload');
      if (payloads.length === 0) {
        return form.getAll('command').length === 1 || form.get('ssl_check') === '1'
          ? null
          : 'form_without_one_command';
      }
      if (payloads.length > 1) {
        return 'several_payloads';
      }
      body = JSON.parse(payloads[0] ?? '');
    } else {
      body = JSON.parse(text);
    }
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'body_not_an_object';
  }
  return typeof (body as { type?: unknown }).type === 'string' ? null : 'body_without_type';
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/**
 * One node:http server for Slack, health and (later) the REST API. Slack requests whose timestamp
 * is more than five minutes off in either direction are refused before Bolt sees them: Bolt alone
 * accepts future timestamps (slack.md §3.1), which would widen the replay window.
 */
export function createHttpServer(opts: ServerOptions): http.Server {
  const maxSkew = opts.slackMaxSkewSeconds ?? 300;
  const now = opts.now ?? Date.now;
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (route === 'GET /readyz') {
      opts.readiness().then(
        (r) =>
          sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not_ready', checks: r.checks }),
        (e: unknown) => {
          opts.log.error({ err: e }, 'http.readiness_failed');
          sendJson(res, 503, { status: 'not_ready', checks: {} });
        },
      );
      return;
    }
    if (route === 'GET /metrics' && opts.metrics) {
      opts.metrics.render().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' }).end(m.body),
        (e: unknown) => {
          opts.log.error({ err: e }, 'http.metrics_failed');
          error(res, 503, 'metrics_unavailable', 'Metrics could not be read (the database may be down).');
        },
      );
      return;
    }
    if (opts.slackEvents && url.pathname === opts.slackEvents.path) {
      if (opts.metrics) {
        const started = performance.now();
        const metrics = opts.metrics;
        res.once('finish', () => metrics.slackAck((performance.now() - started) / 1000));
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
      if (!/^\d{1,12}$/.test(ts) || Math.abs(now() / 1000 - Number(ts)) > maxSkew) {
        opts.log.warn(
          { reason: ts ? 'timestamp_out_of_window' : 'timestamp_missing' },
          'slack.request_refused',
        );
        req.resume();
        res.writeHead(401).end();
        return;
      }
      const slack = opts.slackEvents;
      readBody(req, MAX_SLACK_BODY_BYTES).then(
        (raw) => {
          if (raw === null) {
            res.writeHead(413).end();
            return;
          }
          const problem = slackEnvelopeProblem(raw, String(req.headers['content-type'] ?? ''));
          if (problem) {
            opts.log.warn({ reason: problem }, 'slack.request_refused');
            res.writeHead(400).end();
            return;
          }
          // Bolt verifies and parses a body already buffered on the request (HTTPModuleFunctions
          // bufferIncomingMessage reuses `rawBody`) instead of reading the stream again.
          (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
          slack.handle(req, res);
        },
        (e: unknown) => {
          opts.log.warn({ err: e }, 'slack.request_unreadable');
          if (!res.headersSent) {
            res.writeHead(400).end();
          }
        },
      );
      return;
    }
    if (opts.api && url.pathname.startsWith('/api/') && opts.api(req, res, url)) {
      return;
    }
    req.resume();
    error(res, 404, 'not_found', `No route for ${req.method} ${url.pathname}.`);
  });
}

/** Listens on `at`, logging the port (0 picks a free one); rejects when the address is taken. */
export function listen(server: http.Server, at: { port: number; host: string }, log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      const addr = server.address();
      log.info(
        { port: typeof addr === 'object' && addr ? addr.port : at.port, host: at.host },
        'http.listening',
      );
      resolve();
    });
  });
}

// The HTTP side of the peer: `/api/<method>` (auth, scripted faults, dispatch to the method families,
// recording) and `/respond/<id>` (response_url sinks), on `127.0.0.1:0`.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RespondAnswer } from './chat.js';
import { isWorkflowToken } from './functions.js';
import { type Args, decodeArgs, type MethodTable, Refusal, readBody, refuse, send } from './protocol.js';
import type { PeerState } from './state.js';
import type { SlackFault } from './types.js';

/** What the server dispatches to. */
export interface Routes {
  /** Every Web API method, by name. */
  methods: MethodTable;
  /** A POST on the response_url sink `id`. */
  respond: (id: string, raw: string) => RespondAnswer;
  /** Called after every request has been answered. */
  notify: () => void;
}

function takeFault(s: PeerState, method: string): SlackFault | undefined {
  for (const key of [method, '*']) {
    const queue = s.faults.get(key);
    const head = queue?.[0];
    if (queue && head) {
      head.left -= 1;
      if (head.left <= 0) {
        queue.shift();
      }
      return head.fault;
    }
  }
  return undefined;
}

function handleApi(
  s: PeerState,
  methods: MethodTable,
  method: string,
  req: IncomingMessage,
  raw: string,
  query: URLSearchParams,
) {
  const contentType = req.headers['content-type'] ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  let args: Args = {};
  let token = bearer;
  let status = 200;
  let headers: Record<string, string> = {};
  let response: Args;
  let delayMs = 0;
  try {
    args = decodeArgs(contentType, raw, query);
    if (token === undefined && typeof args.token === 'string') {
      token = args.token;
    }
    delete args.token;
    const handler = methods[method] ?? refuse('unknown_method');
    const fault = takeFault(s, method);
    delayMs = fault?.delayMs ?? 0;
    const slowOnly =
      fault?.delayMs !== undefined &&
      fault.error === undefined &&
      fault.status === undefined &&
      fault.retryAfterSeconds === undefined;
    if (fault && !slowOnly) {
      status = fault.status ?? (fault.retryAfterSeconds === undefined ? 200 : 429);
      if (fault.retryAfterSeconds !== undefined) {
        headers = { 'retry-after': String(fault.retryAfterSeconds) };
      }
      refuse(fault.error ?? (status === 429 ? 'ratelimited' : 'internal_error'));
    }
    if (token === undefined || token === '') {
      refuse('not_authed');
    }
    if (token !== s.opts.botToken && !isWorkflowToken(s, token ?? '')) {
      refuse('invalid_auth');
    }
    response = { ok: true, ...handler(args) };
  } catch (err) {
    if (!(err instanceof Refusal)) {
      throw err;
    }
    response = { ok: false, error: err.code };
  }
  s.calls.push({ method, args, token, contentType, rawBody: raw, at: s.now(), status, response });
  return { status, headers, response, delayMs };
}

/** Listens on `127.0.0.1:0`; resolves with the server and its base URL `http://127.0.0.1:<port>`. */
export async function startServer(s: PeerState, routes: Routes): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const raw = await readBody(req);
      const api = /^\/api\/([\w.]+)$/.exec(url.pathname);
      const respond = /^\/respond\/([^/]+)$/.exec(url.pathname);
      if (api?.[1] && (req.method === 'POST' || req.method === 'GET')) {
        const r = handleApi(s, routes.methods, api[1], req, raw, url.searchParams);
        if (r.delayMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, r.delayMs));
        }
        send(res, r.status, r.response, r.headers);
      } else if (respond?.[1] && req.method === 'POST') {
        const r = routes.respond(respond[1], raw);
        send(res, r.status, r.body);
      } else {
        send(res, 404, { ok: false, error: 'not_found' });
      }
      routes.notify();
    })().catch((err: unknown) => {
      send(res, 500, { ok: false, error: 'fatal_error', detail: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, base };
}

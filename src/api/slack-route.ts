import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

/**
 * The largest body Slack sends: a view submission carries its view (at most 250 kB, slack.md §6),
 * URL-encoded. Anything longer is cut off unread and answered 413.
 */
export const MAX_SLACK_BODY_BYTES = 768 * 1024;

/**
 * Bodies read at once before their signature could be checked: beyond this, a request is turned
 * away (503) instead of buffered, so unsigned traffic cannot fill the memory (768 KiB × 64 at most).
 */
export const MAX_UNVERIFIED_READS = 64;
let unverifiedReads = 0;

/** A request signature as Slack sends it: `v0=` and 64 hex digits, nothing before or after. */
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

export interface SlackRoute {
  path: string;
  /** the app's signing secret: the request is verified here, before its body is parsed at all */
  signingSecret: string;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
}

/** What the delivery de-duplication keys a signed request by (Bolt reads it off the request). */
export type DeliveryKeyed = IncomingMessage & { rawBody?: Buffer; hostlockDeliveryKey?: string };

/**
 * Reads at most `limit` bytes; null (and the connection closed after the answer) when the body is
 * longer: the rest is never read or buffered.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Slack's signature over `v0:<timestamp>:<raw body>` (slack.md §3.1), compared in constant time. */
export function signatureValid(secret: string, timestamp: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(
    `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(raw).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
        if (form.get('ssl_check') === '1') {
          return null;
        }
        if (form.getAll('command').length !== 1) {
          return 'form_without_one_command';
        }
        return form.get('team_id') ? null : 'command_without_team';
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
  const b = body as { type?: unknown; team_id?: unknown; team?: { id?: unknown } | null };
  if (typeof b.type !== 'string') {
    return 'body_without_type';
  }
  // fails closed: a payload that names no workspace is never taken for ours (issue #14, finding 11)
  const team = typeof b.team_id === 'string' ? b.team_id : typeof b.team?.id === 'string' ? b.team.id : '';
  return team || b.type === 'url_verification' ? null : 'body_without_team';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function isUtf8(raw: Buffer): boolean {
  try {
    utf8.decode(raw);
    return true;
  } catch {
    return false;
  }
}

const refuse = (res: ServerResponse, status: number, close = false) => {
  res.writeHead(status, close ? { connection: 'close' } : {}).end();
};

/**
 * `POST /slack/events`, in this order (issue #14, finding 13): the timestamp within five minutes
 * either way (Bolt alone accepts future ones, widening the replay window), a well-formed signature
 * header, the body read up to Slack's largest, the signature verified, and only then the body
 * parsed. The delivery key for de-duplication is the timestamp and the body's hash, so a replay
 * cannot pass as new by decorating the signature header.
 */
export function serveSlackEvents(
  route: SlackRoute,
  o: { log: Logger; now: () => number; maxSkewSeconds: number },
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
  const signature = String(req.headers['x-slack-signature'] ?? '');
  if (!/^\d{1,12}$/.test(ts) || Math.abs(o.now() / 1000 - Number(ts)) > o.maxSkewSeconds) {
    o.log.warn({ reason: ts ? 'timestamp_out_of_window' : 'timestamp_missing' }, 'slack.request_refused');
    req.resume();
    refuse(res, 401);
    return;
  }
  if (!SIGNATURE.test(signature)) {
    o.log.warn({ reason: signature ? 'signature_malformed' : 'signature_missing' }, 'slack.request_refused');
    req.resume();
    refuse(res, 401);
    return;
  }
  if (unverifiedReads >= MAX_UNVERIFIED_READS) {
    req.resume();
    res.writeHead(503, { 'retry-after': '1', connection: 'close' }).end();
    return;
  }
  unverifiedReads++;
  const read = readBody(req, MAX_SLACK_BODY_BYTES).finally(() => {
    unverifiedReads--;
  });
  read.then(
    (raw) => {
      if (raw === null) {
        o.log.warn({ reason: 'body_too_large' }, 'slack.request_refused');
        refuse(res, 413, true);
        return;
      }
      // Slack sends UTF-8; Bolt re-checks the signature over decoded text, which other bytes fail
      if (!signatureValid(route.signingSecret, ts, raw, signature) || !isUtf8(raw)) {
        o.log.warn({ reason: 'signature_mismatch' }, 'slack.request_refused');
        refuse(res, 401);
        return;
      }
      const problem = slackEnvelopeProblem(raw, String(req.headers['content-type'] ?? ''));
      if (problem === 'command_without_team') {
        // a slash command still gets an answer, one that changes nothing
        o.log.warn({ reason: problem }, 'slack.request_refused');
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ response_type: 'ephemeral', text: 'hostlock could not read that request.' }));
        return;
      }
      if (problem) {
        o.log.warn({ reason: problem }, 'slack.request_refused');
        refuse(res, 400);
        return;
      }
      // Bolt verifies and parses a body already buffered on the request (HTTPModuleFunctions
      // bufferIncomingMessage reuses `rawBody`) instead of reading the stream again.
      const keyed = req as DeliveryKeyed;
      keyed.rawBody = raw;
      keyed.hostlockDeliveryKey = createHash('sha256').update(`${ts}:`).update(raw).digest('hex');
      route.handle(req, res);
    },
    (e: unknown) => {
      o.log.warn({ err: e }, 'slack.request_unreadable');
      if (!res.headersSent) {
        refuse(res, 400);
      }
    },
  );
}

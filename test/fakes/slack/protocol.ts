// Request decoding and answering shared by every method family: Slack's `ok:false` refusals, argument
// readers, body decoding (form or JSON, shared/reference/slack.md §4) and the JSON reply.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Args = Record<string, unknown>;

/** One Web API method: decoded args in, the fields of its `ok:true` answer out; refusals are thrown. */
export type MethodHandler = (args: Args) => Args;

/** The methods of one family (or of all of them), by Web API method name. */
export type MethodTable = Record<string, MethodHandler>;

/** Slack refusal: becomes `{ ok: false, error }` with HTTP 200. */
export class Refusal extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
export const refuse = (code: string): never => {
  throw new Refusal(code);
};

const JSON_FIELDS: Record<string, string> = {
  blocks: 'invalid_blocks_format',
  attachments: 'invalid_attachments',
  view: 'invalid_arguments',
  metadata: 'invalid_metadata_format',
};

export const isRecord = (v: unknown): v is Args => typeof v === 'object' && v !== null && !Array.isArray(v);

export function optStr(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') {
    return undefined;
  }
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : refuse('invalid_arguments');
}
export const reqStr = (args: Args, key: string): string => optStr(args, key) ?? refuse('invalid_arguments');

export function decodeArgs(contentType: string, raw: string, query: URLSearchParams): Args {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const args: Args = Object.fromEntries(query);
  if (raw.trim() !== '') {
    if (media === 'application/x-www-form-urlencoded') {
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
    } else if (media === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return refuse('invalid_form_data');
      }
      Object.assign(args, isRecord(parsed) ? parsed : refuse('invalid_form_data'));
    } else {
      refuse(media === '' ? 'missing_post_type' : 'invalid_post_type');
    }
  }
  for (const [field, code] of Object.entries(JSON_FIELDS)) {
    const v = args[field];
    if (typeof v === 'string') {
      try {
        args[field] = JSON.parse(v);
      } catch {
        refuse(code);
      }
    }
  }
  return args;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

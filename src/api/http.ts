import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './server.js';

/** The REST error shape (DESIGN §3.7): `{ "error": { "code", "message" } }`. */
export function apiError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Largest request body the API reads; anything bigger is answered 413 unread. */
export const MAX_BODY_BYTES = 16 * 1024;

export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 413 | 415; code: string; message: string };

const isJson = (contentType: string | undefined): boolean =>
  /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType ?? '');

/**
 * Reads a JSON body of at most `limit` bytes. A declared or actual size over the limit stops
 * reading at once (the rest is discarded, not buffered) and the connection is closed after the answer.
 */
export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  if (!isJson(req.headers['content-type'])) {
    req.resume();
    return Promise.resolve({
      ok: false,
      status: 415,
      code: 'unsupported_media_type',
      message: 'Send the body as JSON with `Content-Type: application/json`.',
    });
  }
  const tooLarge: BodyResult = {
    ok: false,
    status: 413,
    code: 'body_too_large',
    message: `The request body is larger than ${limit} bytes.`,
  };
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    return Promise.resolve(tooLarge);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) {
        return;
      }
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (over) {
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve({ ok: true, value: text.trim() === '' ? {} : (JSON.parse(text) as unknown) });
      } catch {
        resolve({ ok: false, status: 400, code: 'bad_json', message: 'The request body is not valid JSON.' });
      }
    });
  });
}

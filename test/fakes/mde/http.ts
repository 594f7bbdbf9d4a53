import { randomUUID } from 'node:crypto';

/** What a route handler answers; the server writes it and records the status. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** Content type of every successful MDE API answer (mde-api.md §4). */
export const ODATA_JSON = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8';
/** Content type of MDE error bodies and Entra answers. */
export const PLAIN_JSON = 'application/json; charset=utf-8';

/** A successful OData answer with the headers real MDE sends. */
export function ok(status: number, body: unknown): Reply {
  return { status, headers: { 'content-type': ODATA_JSON, 'odata-version': '4.0' }, body };
}

/** `{ error: { code, message, target } }` with a fresh correlation GUID as `target` (mde-api.md §7). */
export function mdeError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    headers: { 'content-type': PLAIN_JSON, ...headers },
    body: { error: { code, message, target: randomUUID() } },
  };
}

/** The usual MDE code for a status, for injected faults without one. */
export function defaultCode(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    429: 'TooManyRequests',
    500: 'InternalServerError',
  };
  return codes[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

/** Sliding-window request counter per key (API family + tenant). */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly perHour: number,
    private readonly fixedRetryAfter: number | undefined,
  ) {}

  /** Counts the call and returns `null`, or the `Retry-After` seconds when the call is over a limit. */
  take(key: string, nowMs: number): number | null {
    const kept = (this.hits.get(key) ?? []).filter((t) => t > nowMs - 3_600_000);
    this.hits.set(key, kept);
    const lastMinute = kept.filter((t) => t > nowMs - 60_000);
    let freeAt: number | undefined;
    if (lastMinute.length >= this.perMinute) {
      freeAt = (lastMinute[lastMinute.length - this.perMinute] ?? nowMs) + 60_000;
    }
    if (kept.length >= this.perHour) {
      freeAt = Math.max(freeAt ?? 0, (kept[kept.length - this.perHour] ?? nowMs) + 3_600_000);
    }
    if (freeAt !== undefined) {
      return this.fixedRetryAfter ?? Math.max(1, Math.ceil((freeAt - nowMs) / 1000));
    }
    kept.push(nowMs);
    return null;
  }
}

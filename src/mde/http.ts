import { Agent, type Dispatcher, request } from 'undici';
import type { TokenProvider } from './auth.js';
import { type CallBudget, MdeBudgetSpentError } from './budget.js';
import { MdeApiError, MdeNetworkError, MdeResponseError } from './errors.js';
import { currentPriority } from './priority.js';
import { ErrorBodySchema } from './schemas.js';

export interface RetryPolicy {
  /** retries after 5xx / network errors on idempotent calls */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** waits for 429 before giving up */
  maxThrottleRetries: number;
  /** a Retry-After longer than this is not waited out here: the caller reschedules */
  maxRetryAfterMs: number;
  /** used when a 429 carries no usable Retry-After (mde-api.md §7: back off 30–60 s) */
  defaultRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxThrottleRetries: 3,
  maxRetryAfterMs: 120_000,
  defaultRetryAfterMs: 30_000,
};

export interface MdeHttpOptions {
  apiUrl: string;
  tokens: TokenProvider;
  budget: CallBudget;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** told about every attempt: its method, HTTP status (or `network` when none came) and duration */
  observe?: (o: { method: string; status: number | 'network'; ms: number }) => void;
  /** the largest answer read (default {@link MAX_RESPONSE_BYTES}) */
  maxResponseBytes?: number;
}

/**
 * The largest Defender answer hostlock reads: a page of 10 000 machines is about 15 MB. A larger
 * (or endless) answer is cut off and refused, never buffered whole. Error bodies are read to 64 KiB.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

/** The body as text, or null when it is longer than `limit` (the rest is not read). */
async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of capped(body, limit)) {
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof TooLarge) {
      return null;
    }
    throw e;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Capped chunks: throws {@link TooLarge} once more than `limit` bytes came (the rest is not read),
 * and {@link BodyBroken} when the answer itself broke off, so that only a failure of the
 * connection (not one of the reader's own callbacks, such as a database write) is read again.
 */
async function* capped(body: Dispatcher.ResponseData['body'], limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (e) {
      throw new BodyBroken(e);
    }
    if (next.done) {
      return;
    }
    size += next.value.length;
    if (size > limit) {
      body.destroy();
      throw new TooLarge();
    }
    yield next.value;
  }
}

class TooLarge extends Error {}

class BodyBroken extends Error {
  constructor(readonly reason: unknown) {
    super('the answer broke off', { cause: reason });
  }
}

export interface MdeResponse<T = unknown> {
  status: number;
  body: T;
}

/**
 * Reads a successful answer's bytes as they arrive, in place of buffering the text and parsing it
 * whole; a SyntaxError means "not the JSON expected". Called afresh for every attempt.
 */
export type BodyReader<T> = (chunks: AsyncIterable<Buffer>) => Promise<T>;

export interface MdeHttp {
  /**
   * One Defender call with auth, budget and retries. `idempotent: false` (isolate, release) is
   * retried only when Defender certainly did not act on it (429, connection refused); after an
   * ambiguous failure it throws, and the caller must look at machine actions before sending again,
   * because MDE has no idempotency key.
   */
  call(
    method: 'GET' | 'POST',
    pathOrUrl: string,
    opts?: { body?: unknown; idempotent?: boolean },
  ): Promise<MdeResponse>;
  call<T>(
    method: 'GET' | 'POST',
    pathOrUrl: string,
    opts: { body?: unknown; idempotent?: boolean; read: BodyReader<T> },
  ): Promise<MdeResponse<T>>;
  close(): Promise<void>;
}

// Refused before any byte reached Defender: safe to resend even a POST.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCodeOf(e: unknown): string | undefined {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const code = (c as NodeJS.ErrnoException).code;
    if (code) {
      return code;
    }
  }
  return undefined;
}

function parseRetryAfter(h: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) {
    return undefined;
  }
  if (/^\d+$/.test(v.trim())) {
    return Number(v.trim()) * 1000;
  }
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// One closure over the undici pool, token cache and budget; its request, retry and paging steps are short.
export function createMdeHttp(opts: MdeHttpOptions): MdeHttp {
  const policy = { ...DEFAULT_RETRY, ...opts.retry };
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const base = new URL(opts.apiUrl);
  const agent = new Agent({
    keepAliveTimeout: 30_000,
    connections: 8,
    headersTimeout: 30_000,
    bodyTimeout: 120_000,
  });

  // Capped exponential backoff with equal jitter: never less than half the step, never above the cap.
  const backoff = (attempt: number) => {
    const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
    return step / 2 + random() * (step / 2);
  };

  function resolve(pathOrUrl: string): URL {
    const url = new URL(pathOrUrl, base);
    // @odata.nextLink is absolute: never send our bearer token to another origin.
    if (url.origin !== base.origin) {
      throw new MdeResponseError('GET', url.pathname, `a link points to ${url.origin}, not ${base.origin}`);
    }
    return url;
  }

  async function call(
    method: 'GET' | 'POST',
    pathOrUrl: string,
    {
      body,
      idempotent = method === 'GET',
      read: reader,
    }: { body?: unknown; idempotent?: boolean; read?: BodyReader<unknown> } = {},
  ): Promise<MdeResponse> {
    const url = resolve(pathOrUrl);
    const path = url.pathname;
    let failures = 0;
    let throttles = 0;
    let refreshedToken = false;
    for (;;) {
      await opts.budget.acquire(currentPriority());
      const token = await opts.tokens.getToken();
      let res: Awaited<ReturnType<typeof request>>;
      const started = performance.now();
      try {
        res = await request(url, {
          method,
          dispatcher: agent,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? null : JSON.stringify(body),
        });
      } catch (e) {
        opts.observe?.({ method, status: 'network', ms: performance.now() - started });
        const safe = idempotent || NOT_SENT.has(errorCodeOf(e) ?? '');
        if (safe && failures < policy.maxRetries) {
          await sleep(backoff(failures++));
          continue;
        }
        throw new MdeNetworkError(method, path, e);
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (ok && reader) {
        const limit = opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
        try {
          const parsed = await reader(capped(res.body, limit));
          opts.observe?.({ method, status: res.statusCode, ms: performance.now() - started });
          return { status: res.statusCode, body: parsed };
        } catch (e) {
          opts.observe?.({ method, status: res.statusCode, ms: performance.now() - started });
          res.body.destroy(); // the rest of the answer is not read
          if (e instanceof TooLarge) {
            throw new MdeResponseError(
              method,
              path,
              `status ${res.statusCode} with an answer over ${limit} bytes`,
            );
          }
          if (e instanceof SyntaxError) {
            throw new MdeResponseError(
              method,
              path,
              `status ${res.statusCode} with a body that is not the JSON expected`,
            );
          }
          if (!(e instanceof BodyBroken)) {
            throw e; // the reader's own failure (its callback's, e.g. a database write): not Defender's
          }
          // the answer broke off: a GET is read again from the start
          if (idempotent && failures < policy.maxRetries) {
            await sleep(backoff(failures++));
            continue;
          }
          throw new MdeNetworkError(method, path, e.reason);
        }
      }
      const limit = ok ? (opts.maxResponseBytes ?? MAX_RESPONSE_BYTES) : MAX_ERROR_BYTES;
      const read = await readCapped(res.body, limit).catch(() => '');
      opts.observe?.({ method, status: res.statusCode, ms: performance.now() - started });
      if (ok && read === null) {
        throw new MdeResponseError(
          method,
          path,
          `status ${res.statusCode} with an answer over ${limit} bytes`,
        );
      }
      const text = read ?? '';
      if (ok) {
        try {
          return { status: res.statusCode, body: text ? JSON.parse(text) : null };
        } catch {
          throw new MdeResponseError(method, path, `status ${res.statusCode} with a body that is not JSON`);
        }
      }
      const err = toApiError(
        method,
        path,
        res.statusCode,
        text,
        parseRetryAfter(res.headers['retry-after'], now()),
      );
      if (res.statusCode === 401 && !refreshedToken) {
        // MSAL believed the token valid; get a new one once, then give up.
        refreshedToken = true;
        opts.tokens.invalidate();
        continue;
      }
      if (res.statusCode === 429) {
        const waitMs = err.retryAfterMs ?? policy.defaultRetryAfterMs;
        await opts.budget.pauseUntil(now() + waitMs);
        if (opts.budget.inReservation()) {
          // a lockdown step holding its row lock: it does not wait, it is tried again later
          throw new MdeBudgetSpentError(`Defender asked to wait ${Math.ceil(waitMs / 1000)} s (429)`);
        }
        if (throttles++ < policy.maxThrottleRetries && waitMs <= policy.maxRetryAfterMs) {
          continue; // the budget waits out Retry-After for every caller, not just this one
        }
        throw err;
      }
      if (res.statusCode >= 500 && idempotent && failures < policy.maxRetries) {
        await sleep(backoff(failures++));
        continue;
      }
      throw err;
    }
  }

  return { call: call as MdeHttp['call'], close: () => agent.close() };
}

function toApiError(
  method: string,
  path: string,
  status: number,
  text: string,
  retryAfterMs: number | undefined,
): MdeApiError {
  let parsed: ReturnType<typeof ErrorBodySchema.safeParse> | undefined;
  try {
    parsed = ErrorBodySchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  const e = parsed?.success ? parsed.data.error : undefined;
  return new MdeApiError({
    method,
    path,
    status,
    mdeCode: e?.code ?? (status === 429 ? 'TooManyRequests' : `Http${status}`),
    mdeMessage: e?.message ?? text.slice(0, 200),
    target: e?.target ?? undefined,
    retryAfterMs,
  });
}

import { storable } from './storable-text.js';
/**
 * The shared vocabulary for outcomes and failures (STYLE "Errors"):
 * expected outcomes are `Result` values with a short code; failures are thrown `HostlockError`s.
 */

/** A successful outcome. */
export type Ok<V> = { ok: true; value: V };
/** An expected refusal: a short stable `error` code, optionally a sentence for the user. */
export type Err<E extends string> = { ok: false; error: E; message?: string };
/** What a core use case returns instead of throwing for expected outcomes. */
export type Result<V, E extends string> = Ok<V> | Err<E>;

/** Wraps a value as a successful `Result`. */
export function ok<V>(value: V): Ok<V> {
  return { ok: true, value };
}

/** Builds a refusal `Result`; `message` is omitted (not `undefined`) when not given. */
export function err<E extends string>(error: E, message?: string): Err<E> {
  return message === undefined ? { ok: false, error } : { ok: false, error, message };
}

/** Options for {@link HostlockError}. */
export interface HostlockErrorOptions {
  /** Stable machine-readable code, e.g. `secret_unreadable`. */
  code: string;
  /** Whether trying again later may succeed; jobs retry only when true. Defaults to false. */
  retryable?: boolean;
  /** Facts for the log line (ids, status codes); never secrets. */
  context?: Record<string, unknown>;
  /** The underlying error; kept as `cause` rather than concatenated into the message. */
  cause?: unknown;
}

/**
 * Base class for failures (after unkey's `BaseError`). The message states the fact and the next step;
 * `code`, `retryable` and `context` let callers decide and log without parsing the message.
 */
export class HostlockError extends Error {
  // Explicit rather than `new.target.name`, which minifiers mangle; subclasses override it.
  override readonly name: string = 'HostlockError';
  readonly code: string;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(message: string, options: HostlockErrorOptions) {
    // messages quote outside text (Defender's error bodies) and end up in rows and outbox payloads
    super(storable(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

const URL_LIKE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s)'"]+/gi;
const IPV4_PORT = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
const IPV6 = /\[?(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d{1,5})?/gi;
const HOST_PORT = /\b[a-z0-9-]+(?:\.[a-z0-9-]+)+:\d{1,5}\b/gi;

/**
 * A failure's text as people in a channel may see it: URLs, addresses and host:port pairs (which
 * can name internal systems) replaced by `[address]`, one line, at most `max` characters. The full
 * text stays in the audit row and the log (issue #14, finding 16).
 */
export function publicErrorText(text: string, max = 300): string {
  const cleaned = text
    .replace(URL_LIKE, '[address]')
    .replace(HOST_PORT, '[address]')
    .replace(IPV4_PORT, '[address]')
    .replace(IPV6, '[address]')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

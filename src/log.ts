import { type DestinationStream, type LogFn, type Logger as PinoLogger, pino } from 'pino';
import pinoPretty from 'pino-pretty';

/** The application logger (pino). Core receives it through a port, never imports pino. */
export type Logger = PinoLogger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const CENSOR = '[redacted]';
const MAX_DEPTH = 10;

// Redaction by key, done by pino itself (fast-redact). Paths are fixed depth; the value-shape
// pass below and SENSITIVE_KEY catch what sits deeper or under other names.
const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers.cookie',
  'req.headers.cookie',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'mde_client_secret',
  '*.mde_client_secret',
  'signingSecret',
  '*.signingSecret',
  'signing_secret',
  '*.signing_secret',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'password',
  '*.password',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'masterKey',
  '*.masterKey',
  'privateKey',
  '*.privateKey',
];

// Key names whose string/number values are censored at any depth, compared with `-`/`_` removed and
// lower-cased: `botToken`, `mde_client_secret`, `Set-Cookie`… (`tokenId` does not end in "token").
const SENSITIVE_KEY = /(?:secret|token|password|passwd|authorization|cookie|privatekey|masterkey|apikey)$/;

// Secret shapes replaced wherever they appear in a string (reliability.md §8). None of the
// replaced spans can contain `"` or `\`, so the same patterns are safe on a serialized JSON line.
const SECRET_SHAPES: ReadonlyArray<readonly [RegExp, string]> = [
  // Slack bot/user/app-level/refresh tokens: xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-, xoxe-, xapp-.
  [/xox[abposre]-[A-Za-z0-9-]+/g, CENSOR],
  [/xapp-[A-Za-z0-9-]+/g, CENSOR],
  // hostlock REST API tokens (src/core/api-tokens.ts: `hlk_` + 43 base64url characters).
  [/hlk_[A-Za-z0-9_-]{43}/g, CENSOR],
  // Authorization header values, whatever the token looks like.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${CENSOR}`],
  // JWTs (Entra ID access tokens): base64url header `{"…` then two more segments.
  [/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, CENSOR],
  // Entra ID client secrets (`abc8Q~…`, the shape GitHub secret scanning matches).
  [/[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}/g, CENSOR],
  // Form-encoded or query-string credentials (the token request body: `client_secret=…`).
  [
    /\b(client_secret|client_assertion|password|passwd|secret|token|access_token|refresh_token|id_token)=[^&\s"'\\]+/gi,
    `$1=${CENSOR}`,
  ],
  // The password in `postgres://user:pass@host` and any other URL with credentials.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s"'\\]*:)[^@/\s"'\\]+@/gi, `$1${CENSOR}@`],
  // PEM private keys (syslog TLS client keys).
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*?-----END [A-Z ]*PRIVATE KEY-----/g, CENSOR],
];

/** Replaces every known secret shape in `s` (Slack tokens, bearer tokens, JWTs, URL passwords…). */
export function scrubString(s: string): string {
  let out = s;
  for (const [pattern, replacement] of SECRET_SHAPES) {
    out = out.replace(pattern, replacement);
  }
  return out;
}

/**
 * A deep copy of `value` with secrets removed: strings are passed through {@link scrubString}, and
 * string or number values under secret-sounding keys (`token`, `*Secret`, `password`…) are censored.
 * For audit rows and outbox payloads as well as logs. Errors become plain `{ type, message, stack,
 * …, cause }` objects, binary data becomes `[binary N bytes]`, values with `toJSON` (Date, URL) are
 * replaced by its result, cycles by `[circular]`, and anything deeper than 10 levels by `[truncated]`.
 * The input is never modified.
 */
export function scrubSecrets<T>(value: T): T {
  // The shape is preserved except for the documented replacements above.
  return scrub(value, 0, new Set()) as T;
}

function scrub(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value === 'string') {
    return scrubString(value);
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  if (depth >= MAX_DEPTH) {
    return '[truncated]';
  }
  if (ancestors.has(value)) {
    return '[circular]';
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    // Buffers may hold key material; JSON would print every byte.
    return `[binary ${value.byteLength} bytes]`;
  }
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      return scrubError(value, depth, ancestors);
    }
    if (Array.isArray(value)) {
      return value.map((item) => scrub(item, depth + 1, ancestors));
    }
    const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // What JSON.stringify would print; a URL's href carries its password.
      return scrub(toJSON.call(value), depth + 1, ancestors);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = scrubEntry(key, item, depth, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function scrubEntry(key: string, item: unknown, depth: number, ancestors: Set<object>): unknown {
  const isSensitiveKey = SENSITIVE_KEY.test(key.replace(/[-_]/g, '').toLowerCase());
  // Objects under such keys are walked rather than dropped: `token: { name, scopes }` is metadata.
  if (isSensitiveKey && (typeof item === 'string' || typeof item === 'number')) {
    return CENSOR;
  }
  return scrub(item, depth + 1, ancestors);
}

function scrubError(error: Error, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.name,
    message: scrubString(error.message),
    stack: error.stack === undefined ? undefined : scrubString(error.stack),
  };
  // Own enumerable fields: HostlockError's code, retryable and context.
  for (const [key, item] of Object.entries(error)) {
    out[key] = scrubEntry(key, item, depth, ancestors);
  }
  // `cause` and AggregateError's `errors` are not enumerable, so read them explicitly.
  if (error.cause !== undefined) {
    out.cause = scrub(error.cause, depth + 1, ancestors);
  }
  if (error instanceof AggregateError) {
    out.errors = scrub(error.errors, depth + 1, ancestors);
  }
  return out;
}

/** Flattens a message to one line: CR/LF (and the Unicode line separators) become spaces. */
function oneLine(s: string): string {
  return scrubString(s).replace(/[\r\n\u2028\u2029]+/g, ' ');
}

function scrubLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const out = scrub(object, 0, new Set()) as Record<string, unknown>;
  if (typeof out.msg === 'string') {
    out.msg = oneLine(out.msg);
  }
  return out;
}

/**
 * Cleans the message arguments before pino formats them. The message is not part of the object
 * `formatters.log` sees, and `log.error(err)` takes `err.message` as its message, so supply that
 * ourselves rather than let the raw one through.
 */
function cleanLogArgs(this: PinoLogger, args: Parameters<LogFn>, method: LogFn): void {
  const cleaned: unknown[] = args.map((arg) => (typeof arg === 'string' ? oneLine(arg) : arg));
  const [first, second] = cleaned;
  if (second === undefined && typeof first === 'object' && first !== null) {
    const error = first instanceof Error ? first : (first as { err?: unknown; msg?: unknown }).err;
    if (error instanceof Error && !('msg' in first && first.msg !== undefined)) {
      cleaned[1] = oneLine(error.message);
    }
  }
  method.apply(this, cleaned as Parameters<LogFn>);
}

/**
 * Last line of defence on the serialized line. pino builds the message and `child()` bindings
 * outside `formatters.log` (children do not inherit `formatters.bindings`), so value shapes there are
 * caught here; bindings get key redaction from `redact` only. JSON escapes CR/LF already; the
 * replace makes sure one event stays one line.
 */
function scrubLine(line: string): string {
  const body = line.endsWith('\n') ? line.slice(0, -1) : line;
  return `${scrubString(body).replace(/[\r\n]/g, ' ')}\n`;
}

/**
 * Creates the application logger: JSON lines to stdout (or `destination`), `service: "hostlock"`,
 * ISO timestamps, secrets redacted by key and by value shape (STYLE "Logging", reliability.md §8).
 */
export function createLogger(opts: {
  level: LogLevel;
  destination?: DestinationStream;
  /** `pretty`: pino-pretty's layout for a person at a terminal; default JSON lines */
  format?: 'pretty' | 'json';
}): Logger {
  const options = {
    level: opts.level,
    base: { service: 'hostlock' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    // text levels ("level":"info"), as log shippers and people read them (issue #16, item 10)
    formatters: { log: scrubLogObject, level: (label: string) => ({ level: label }) },
    serializers: { err: (value: unknown) => scrub(value, 0, new Set()) },
    hooks: { logMethod: cleanLogArgs, streamWrite: scrubLine },
  };
  // pretty printing reads the scrubbed JSON line, so it shows only what JSON would have
  const destination =
    opts.destination ??
    (opts.format === 'pretty'
      ? pinoPretty({
          colorize: process.stdout.isTTY,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
        })
      : undefined);
  return destination ? pino(options, destination) : pino(options);
}

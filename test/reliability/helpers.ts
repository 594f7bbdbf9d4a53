// Shared by the fast reliability tests (issue #9, reliability.md §9.3–§9.4): raw signed requests
// (bytes, not strings: the signature covers exactly what is sent), a bounded-concurrency runner and
// small statistics for the printed figures.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';

export interface RawAnswer {
  status: number;
  text: string;
  contentType: string;
  elapsedMs: number;
}

/**
 * POSTs `body` to `url` signed per slack.md §3.1 over the raw bytes: `v0=` + hex(HMAC-SHA256(secret,
 * `v0:<ts>:` + bytes)). `headers` are added last (they may replace the signature headers).
 */
export async function signedPost(
  url: string,
  secret: string,
  body: Buffer | string,
  contentType: string,
  o: { headers?: Record<string, string>; timestampSec?: number } = {},
): Promise<RawAnswer> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const ts = String(o.timestampSec ?? Math.floor(Date.now() / 1000));
  const digest = createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`v0:${ts}:`, 'utf8'), bytes]))
    .digest('hex');
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': ts,
      'x-slack-signature': `v0=${digest}`,
      ...o.headers,
    },
    body: bytes,
    redirect: 'manual',
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    contentType: res.headers.get('content-type') ?? '',
    elapsedMs: performance.now() - started,
  };
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight; results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) {
        return;
      }
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) {
    return 0;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** `{ 200: 998, 401: 2 }` */
export function countBy<T>(values: readonly T[], key: (v: T) => string | number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const k = String(key(v));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/**
 * Resolves once `count()` has stopped changing for `quietMs` (bounded by `timeoutMs`): for work that
 * may or may not produce anything (an answer to a replay that a fixed src/ drops), where no single
 * observable end exists.
 */
export async function quiescent(count: () => number | Promise<number>, quietMs = 500, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) {
      throw new Error(`still changing after ${timeoutMs} ms (at ${last})`);
    }
    await settle(50);
    const now = await count();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

/** Resolves after `ms`: only to give something that must NOT happen a chance to happen. */
export const settle = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- F4 fuzz arbitraries (fuzz.test.ts) -------------------------------------------------------

/** Characters that break parsers, encoders and renderers: controls, separators, bidi, markup. */
const SPECIALS = [
  ...'\u0000\r\n\t\u000b\u001b\u007f\u0085\u2028\u2029\u202e\u200b\ufeff\u00a0|\\="\']<>[&`*_~%+#@!{};/?',
  ...['\ud800', '\udfff', '😀', '𝕏', 'é', 'İ', '\r\n'],
];
const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._ ') },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
export const fuzzText = (maxLength: number) => fc.string({ unit: char, maxLength });
/** 2–8 KB of the above. */
const big = fc
  .integer({ min: 2_000, max: 8_192 })
  .chain((n) => fc.string({ unit: char, minLength: n, maxLength: n }));
const anyJson = fc.oneof(
  ...[fuzzText(30), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)],
  ...[fc.array(fuzzText(10), { maxLength: 3 }), fc.dictionary(fuzzText(6), fuzzText(6), { maxKeys: 3 })],
);
/** JSON without NUL: PostgreSQL text and jsonb refuse U+0000 (ids with NUL are swept separately). */
const anyJsonNoNul = anyJson.filter((j) => !JSON.stringify(j).includes('\\u0000'));

export interface FuzzUsers {
  admin: string;
  responder: string;
  viewer: string;
  nobody: string;
}

/** Settings-modal block ids (settings-form.ts; block id = stored key, action id `value`). */
const BLOCKS = (
  'mde_tenant_id mde_client_id mde_client_secret mde_api_url poll_minutes isolation_type approval_required ' +
  'approval_timeout_minutes approver_channel auto_enabled auto_dry_run auto_minutes threshold_threat ' +
  'threshold_certainty threshold_privilege auto_exclusions auto_hourly_cap alert_channels syslog_targets'
).split(' ');

/** Arbitraries for slash-command fields and settings submissions, as `fuzz.test.ts` sends them. */
export function fuzzArbitraries(u: FuzzUsers) {
  const oddId = fc.oneof(
    fc.constantFrom(...[u.admin, u.nobody, `${u.admin} `, 'U', 'u0lower', 'W0WORKER1', 'S0GROUP01', 'B0BOT']),
    fc.constantFrom(
      ...['C0000CHAN', 'D0DM', 'U'.padEnd(300, 'A'), '../../etc/passwd', 'null', '[object Object]'],
    ),
    fc.stringMatching(/^[UWSBCGT][A-Z0-9]{0,24}$/),
  );
  const mention = fc.oneof(
    oddId.map((id) => `<@${id}>`),
    oddId.map((id) => `<@${id}|${id.toLowerCase()}>`),
    fc.constantFrom(...['<!channel>', '<!here>', '<!subteam^S0GROUP01|@oncall>', '<#C0000CHAN|general>']),
    fc.constantFrom(...['<https://evil.example|MDE portal>', '@alice', '<@>', '<!subteam^>', '<', '>']),
  );
  const word = fc.oneof(
    ...[fuzzText(24), mention, oddId, fc.domain(), fc.ipV4(), fc.ipV6(), fc.json({ maxDepth: 2 })],
    fc.constantFrom(...'1h 2h 4h 8h 12h 24h 0h -1h 1H 99h 1.5h --break-glass'.split(' ')),
    fc.constantFrom(...'admin responder analyst viewer lockdown:view lockdown:edit settings:edit'.split(' ')),
    fc.stringMatching(/^[0-9a-f]{40}$/),
  );
  const sentence = (verbs: string, maxWords: number) =>
    fc
      .tuple(fc.constantFrom(...verbs.split(',')), fc.array(word, { maxLength: maxWords }))
      .map(([v, ws]) => [v, ...ws].join(' '));
  const commandText = fc.oneof(
    {
      weight: 6,
      arbitrary: sentence('lock,unlock,lookup,list,history,help,settings,LOCK,Help,frobnicate,', 8),
    },
    {
      weight: 2,
      arbitrary: sentence('token create,token revoke,token list,token,roles grant,roles revoke', 4),
    },
    { weight: 2, arbitrary: fuzzText(300) },
    { weight: 1, arbitrary: big },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  );
  const usual = (value: string, odd: fc.Arbitrary<string>) =>
    fc.oneof({ weight: 8, arbitrary: fc.constant(value) }, { weight: 2, arbitrary: odd });
  const slash = fc.record({
    fields: fc.record({
      text: commandText,
      user_id: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(u.admin, u.responder, u.viewer, u.nobody) },
        { weight: 2, arbitrary: oddId },
      ),
      user_name: usual('someone', fuzzText(60)),
      channel_id: usual('C0000CHAN', fc.oneof(oddId, fuzzText(40))),
      channel_name: usual('hostlock-test', fuzzText(60)),
      team_domain: usual('hostlock-test', fuzzText(60)),
      is_enterprise_install: usual(
        'false',
        fc.oneof(fc.constantFrom('true', '', 'maybe', '1'), fuzzText(10)),
      ),
      token: usual('legacy-verification-token', fuzzText(60)),
      api_app_id: usual('A0000APP', fuzzText(20)),
    }),
    /** form fields left out */
    drop: fc.oneof(
      { weight: 8, arbitrary: fc.constant([] as string[]) },
      {
        weight: 2,
        arbitrary: fc.subarray(
          'token team_domain channel_name user_name api_app_id is_enterprise_install trigger_id text user_id channel_id team_id'.split(
            ' ',
          ),
          { maxLength: 3 },
        ),
      },
    ),
    /** invalid UTF-8 percent-encoded in `text` (as Slack would carry it), or raw bytes after the form */
    encoding: fc.constantFrom(
      ...Array<'plain'>(30).fill('plain'),
      'pct-invalid-utf8' as const,
      'raw-invalid-utf8' as const,
    ),
  });

  const long = fc.oneof(
    fuzzText(80),
    big,
    fc.json({ maxDepth: 3 }),
    fc.constantFrom('15', '0', '-1', '1e3', 'NaN'),
  );
  const element = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constantFrom('plain_text_input', 'number_input'),
        value: fc.oneof(long, anyJson),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('static_select'),
        selected_option: fc.oneof(fc.record({ value: fc.oneof(long, anyJson) }), anyJson),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('checkboxes'),
        selected_options: fc.oneof(
          fc.array(fc.record({ value: fc.oneof(fc.constant('on'), long) })),
          anyJson,
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ selected_conversation: fc.oneof(oddId, anyJson) }) },
    { weight: 1, arbitrary: fc.record({ selected_conversations: fc.oneof(fc.array(oddId), anyJson) }) },
    { weight: 1, arbitrary: anyJson },
  );
  const block = fc.oneof(
    { weight: 6, arbitrary: fc.record({ value: element }) },
    { weight: 1, arbitrary: fc.dictionary(fuzzText(10), element, { maxKeys: 2 }) },
    { weight: 1, arbitrary: anyJson },
  );
  const input = (type: string, key: string, value: unknown) => ({ value: { type, [key]: value } });
  /** One input no one can save, whatever else the form says (added to admins' submissions). */
  const poison = fc.oneof(
    fuzzText(40).map((t) => ['poll_minutes', input('number_input', 'value', `x${t}`)] as const),
    fc
      .integer({ min: 1_441 })
      .map((n) => ['poll_minutes', input('number_input', 'value', String(n))] as const),
    fuzzText(40).map(
      (t) => ['isolation_type', input('static_select', 'selected_option', { value: `Full${t}x` })] as const,
    ),
    fuzzText(40).map(
      (t) => ['auto_minutes', input('static_select', 'selected_option', { value: `${t}x` })] as const,
    ),
    fuzzText(200).map((t) => ['syslog_targets', input('plain_text_input', 'value', `bogus ${t}`)] as const),
    fc
      .integer({ min: 100 })
      .map((n) => ['threshold_threat', input('number_input', 'value', String(n))] as const),
  );
  const view = fc.record({
    userId: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(u.admin, u.responder, u.viewer, u.nobody) },
      { weight: 1, arbitrary: oddId },
      { weight: 1, arbitrary: anyJsonNoNul },
    ),
    values: fc.dictionary(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...BLOCKS) }, { weight: 1, arbitrary: fuzzText(20) }),
      block,
      { maxKeys: 25 },
    ),
    poison,
    privateMetadata: fc.oneof(
      fc.constantFrom(JSON.stringify({ version: 1e9 }), '', 'null', '[]', '{"version":"x"}'),
      fuzzText(100),
      fc.json(),
    ),
    /** other view fields, of any shape */
    extra: fc.record({ id: fuzzText(20), hash: fuzzText(20), title: anyJson }, { requiredKeys: [] }),
  });
  return { slash, view };
}

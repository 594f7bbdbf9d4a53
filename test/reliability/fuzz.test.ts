import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHarness, type Harness, SIGNING_SECRET } from '../helpers/harness.js';
import { countBy, fuzzArbitraries, percentile, pool, type RawAnswer, signedPost } from './helpers.js';

// Issue #9, reliability.md §9.4 F4: fuzzed settings submissions and slash commands, each correctly
// signed over its raw bytes. Pass: the process and /healthz stay up, no 5xx, every ack < 3 s, a
// slash command gets an ephemeral answer, a settings submission that must not save gets
// `response_action: errors` and the settings row keeps its version. Damage to the envelope
// (duplicate or missing fields, wrong JSON types around the form: nothing Slack sends) is swept
// exhaustively in the last test instead of sampled.

const VIEW_RUNS = Number(process.env.HOSTLOCK_FUZZ_VIEW ?? 5_000);
const SLASH_RUNS = Number(process.env.HOSTLOCK_FUZZ_SLASH ?? 5_000);
const SEED = Number(process.env.HOSTLOCK_FUZZ_SEED ?? 20_260_909);
const CONCURRENCY = 32;
const FORM = 'application/x-www-form-urlencoded';
const users = { admin: 'U0FZADMIN1', responder: 'U0FZRESP01', viewer: 'U0FZVIEW01', nobody: 'U0FZNOBODY' };
const arb = fuzzArbitraries(users);
type Slash = typeof arb.slash extends fc.Arbitrary<infer T> ? T : never;
type View = typeof arb.view extends fc.Arbitrary<infer T> ? T : never;

// Open src/ defects of the issue #9 report; null once fixed (scheme: see slack-replay.test.ts).

let h: Harness;
let url: string;
const send = (body: Buffer | string, contentType = FORM) =>
  signedPost(url, SIGNING_SECRET, body, contentType);

function slashBody(s: Slash): Buffer | string {
  const userId = s.fields.user_id;
  const fields: Record<string, string> = {
    ...s.fields,
    team_id: h.slack.teamId,
    command: '/hostlock',
    response_url: h.slack.newResponseUrl({ channelId: 'C0000CHAN', userId }),
    trigger_id: h.slack.issueTriggerId({ userId }),
  };
  for (const k of s.drop) {
    delete fields[k];
  }
  const body = new URLSearchParams(fields).toString();
  if (s.encoding === 'pct-invalid-utf8') {
    return body.replace(/(^|&)text=/, '$1text=%FF%C0%AF%ED%A0%80%F8%88%80%80%80');
  }
  const raw = Buffer.from([0xff, 0xc3, 0x28]);
  return s.encoding === 'raw-invalid-utf8' ? Buffer.concat([Buffer.from(body), raw]) : body;
}

function viewPayload(o: { userId: unknown; values: unknown; privateMetadata: unknown; extra?: object }) {
  return {
    type: 'view_submission',
    team: { id: h.slack.teamId, domain: 'hostlock-test' },
    user: { id: o.userId, username: 'fuzz', team_id: h.slack.teamId },
    api_app_id: 'A0000APP',
    token: 'legacy-verification-token',
    trigger_id: h.slack.issueTriggerId({}),
    view: {
      type: 'modal',
      callback_id: 'settings',
      private_metadata: o.privateMetadata,
      state: { values: o.values },
      ...o.extra,
    },
    response_urls: [],
  };
}
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

function viewBody(v: View): string {
  // an admin's submission always carries one invalid input, so nothing may be saved
  const values = v.userId === users.admin ? { ...v.values, [v.poison[0]]: v.poison[1] } : v.values;
  return form(viewPayload({ ...v, values }));
}

const ephemeralAnswer = (r: RawAnswer): boolean => {
  if (!r.contentType.includes('json')) {
    return r.text.trim().length > 0;
  }
  const b = JSON.parse(r.text) as { response_type?: string; text?: unknown };
  return (b.response_type ?? 'ephemeral') === 'ephemeral' && typeof b.text === 'string' && b.text.length > 0;
};

const errorsAnswer = (r: RawAnswer): boolean => {
  if (r.status !== 200 || !r.contentType.includes('json')) {
    return false;
  }
  const b = JSON.parse(r.text) as { response_action?: string; errors?: Record<string, unknown> };
  return (
    b.response_action === 'errors' && Object.values(b.errors ?? {}).some((m) => typeof m === 'string' && m)
  );
};

async function settingsRow() {
  const [row] = await h.db.sql<{ version: number; data: unknown }[]>`select version, data from settings`;
  const [secrets] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from secrets`;
  const [audits] = await h.db.sql<{ n: number }[]>`
    select count(*)::int as n from audit_events where action = 'settings.changed'`;
  return { version: row?.version, data: JSON.stringify(row?.data), secrets: secrets?.n, changes: audits?.n };
}

/** Sends every case (bounded concurrency), prints the figures, returns the answers and the failures. */
async function blast<T>(
  label: string,
  cases: T[],
  body: (c: T) => Buffer | string,
  ok: (a: RawAnswer, c: T) => boolean,
) {
  const started = performance.now();
  const answers = await pool(cases, CONCURRENCY, (c) => send(body(c)));
  const ms = performance.now() - started;
  const p99 = percentile(
    answers.map((a) => a.elapsedMs),
    99,
  );
  const max = Math.max(...answers.map((a) => a.elapsedMs));
  console.log(
    `F4 ${label}: ${cases.length} signed payloads in ${(ms / 1000).toFixed(1)} s (${((cases.length / ms) * 1000).toFixed(0)}/s), ` +
      `statuses ${JSON.stringify(countBy(answers, (a) => a.status))}, ack p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms`,
  );
  const failures = answers
    .map((a, i) => ({ a, c: cases[i] as T }))
    .filter(({ a, c }) => a.status >= 500 || a.elapsedMs >= 3_000 || !ok(a, c))
    .map(({ a, c }) => ({
      status: a.status,
      ms: Math.round(a.elapsedMs),
      answer: a.text.slice(0, 160),
      case: JSON.stringify(c).slice(0, 400),
    }));
  return { answers, failures, max };
}

beforeAll(async () => {
  h = await bootHarness();
  url = `${h.app.url}/slack/events`;
  await h.grant('admin', users.admin);
  await h.grant('responder', users.responder);
  await h.grant('analyst', users.viewer);
  await h.settings({ poll_minutes: 30 });
  await h.settings({ approval_required: true });
});
afterAll(() => h.close());

describe('F4: fuzzed settings submissions and slash commands', () => {
  it(`${VIEW_RUNS} settings submissions: errors every time, the settings row untouched`, {
    timeout: 120_000,
  }, async () => {
    const before = await settingsRow();
    const cases = fc.sample(arb.view, { numRuns: VIEW_RUNS, seed: SEED });
    const { answers, failures, max } = await blast('settings view_submission', cases, viewBody, (a) =>
      errorsAnswer(a),
    );
    expect(failures.slice(0, 3)).toEqual([]);
    expect(max).toBeLessThan(3_000);
    const withRole = [users.responder, users.viewer, users.nobody] as unknown[];
    const notAdmin = cases
      .map((c, i) => [c, answers[i]] as const)
      .filter(([c]) => withRole.includes(c.userId));
    // known users without settings:edit are refused for that, whatever they sent
    expect(notAdmin.filter(([, a]) => !/settings:edit/.test(a?.text ?? ''))).toEqual([]);
    const after = await settingsRow();
    expect(after).toEqual(before);
    console.log(
      `   ${notAdmin.length} refused for lacking settings:edit, ${cases.filter((c) => c.userId === users.admin).length} ` +
        `admin submissions refused as invalid, the rest from odd user ids; settings version ${before.version} → ${after.version}, 0 settings.changed`,
    );
  });

  it(`${SLASH_RUNS} slash commands: an ephemeral answer within 3 s every time`, {
    timeout: 120_000,
  }, async () => {
    const cases = fc.sample(arb.slash, { numRuns: SLASH_RUNS, seed: SEED });
    const { failures, max } = await blast('slash commands', cases, slashBody, (a, s) =>
      // Bolt checks the signature over a lossy UTF-8 decode of raw non-UTF-8 bytes: it fails closed
      s.encoding === 'raw-invalid-utf8' ? a.status === 401 : a.status === 200 && ephemeralAnswer(a),
    );
    expect(failures.slice(0, 3)).toEqual([]);
    expect(max).toBeLessThan(3_000);
    expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
    const raw = cases.filter((s) => s.encoding === 'raw-invalid-utf8').length;
    console.log(`   ${raw} raw non-UTF-8 bodies → 401; /healthz 200 afterwards`);
  });

  it('a signed body that parses to null is refused, and the process stays up', async () => {
    expect((await send('null', 'application/json')).status).toBe(400);
    expect((await send('payload=null')).status).toBe(400);
    expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
  });

  it('envelope sweep: every duplicated, missing or mistyped field is answered within 3 s, never 5xx', async () => {
    const base: Record<string, string> = {
      token: 'legacy-verification-token',
      team_id: h.slack.teamId,
      team_domain: 'hostlock-test',
      channel_id: 'C0000CHAN',
      channel_name: 'hostlock-test',
      user_id: users.nobody,
      user_name: 'nobody',
      command: '/hostlock',
      text: 'lock fuzz-01 1h',
      api_app_id: 'A0000APP',
      is_enterprise_install: 'false',
      response_url: h.slack.newResponseUrl({ channelId: 'C0000CHAN', userId: users.nobody }),
      trigger_id: 'x',
    };
    const slash = (f: Record<string, string>, extra = '') => new URLSearchParams(f).toString() + extra;
    const variants: Array<[string, string, string?]> = [];
    for (const k of Object.keys(base)) {
      variants.push([`slash: ${k} twice`, slash(base, `&${k}=${encodeURIComponent(base[k] ?? '')}`)]);
      const { [k]: _, ...rest } = base;
      variants.push([`slash: no ${k}`, slash(rest)]);
    }
    variants.push(['slash: NUL in user_id', slash({ ...base, user_id: `${users.nobody}\u0000` })]);
    const v = (value: string) => ({ value: { value } });
    const sel = (value: string) => ({ value: { selected_option: { value } } });
    const valid = { poll_minutes: v('30'), isolation_type: sel('Full'), auto_minutes: sel('4h') };
    for (const n of 'approval_timeout_minutes threshold_threat threshold_certainty threshold_privilege auto_hourly_cap'.split(
      ' ',
    )) {
      Object.assign(valid, { [n]: v('5') });
    }
    const stale = '{"version":1000000}';
    const view = viewPayload({ userId: users.viewer, values: {}, privateMetadata: stale });
    const adminView = viewPayload({ userId: users.admin, values: valid, privateMetadata: stale });
    const wrong = { missing: undefined, null: null, number: 1, string: 'x', array: [] } as Record<
      string,
      unknown
    >;
    for (const [shape, w] of Object.entries(wrong)) {
      for (const k of ['team', 'user', 'view', 'api_app_id', 'trigger_id', 'response_urls']) {
        variants.push([`view: ${k} ${shape}`, form({ ...view, [k]: w })]);
      }
      for (const k of ['callback_id', 'state', 'private_metadata', 'id', 'hash']) {
        variants.push([`view: view.${k} ${shape}`, form({ ...view, view: { ...view.view, [k]: w } })]);
      }
      variants.push([
        `view: admin, view.state ${shape}`,
        form({ ...adminView, view: { ...adminView.view, state: w } }),
      ]);
      const values = { ...adminView.view, state: { values: w } };
      variants.push([`view: admin, state.values ${shape}`, form({ ...adminView, view: values })]);
      variants.push([
        `payload=${JSON.stringify(w)}`,
        `payload=${encodeURIComponent(JSON.stringify(w) ?? '')}`,
      ]);
      variants.push([`JSON body ${JSON.stringify(w)}`, JSON.stringify(w) ?? '', 'application/json']);
    }
    variants.push([
      'view: NUL in user.id',
      form(viewPayload({ userId: `${users.viewer}\u0000`, values: {}, privateMetadata: '' })),
    ]);
    for (const privateMetadata of ['not json', 'null', '', '{"version":[]}']) {
      const admin = viewPayload({ userId: users.admin, values: valid, privateMetadata });
      variants.push([
        `view: admin, valid form, private_metadata ${JSON.stringify(privateMetadata)}`,
        form(admin),
      ]);
    }
    const sweep = variants;
    const answers = await pool(sweep, 64, ([, body, type]) => send(body, type));
    const failed = sweep
      .map(([what], i) => ({ what, a: answers[i] as RawAnswer }))
      .filter(({ a }) => a.status >= 500 || a.status === 404 || a.elapsedMs >= 3_000)
      .map(({ what, a }) => `${what} → ${a.status} after ${Math.round(a.elapsedMs)} ms`);
    expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
    console.log(
      `F4 envelope sweep: ${sweep.length} variants, ${failed.length} not answered properly:\n   ${failed.join('\n   ')}`,
    );
    expect(failed).toEqual([]);
  });
});

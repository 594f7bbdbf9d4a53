// Waiting on observable state, bounded: the demo polls conditions, never sleeps a fixed time.
import type { SlackCall } from '../test/fakes/slack-peer.js';
import { until } from '../test/helpers/until.js';
import type { DemoEnv } from './env.js';

export { until };

/** The lockdown row's fields the demo follows. */
export interface LockdownRow {
  id: string;
  state: string;
  approval_ts: string | null;
  mde_action_id: string | null;
  /** as text: the pool hostlock opened may leave timestamps unparsed */
  expires_at: string | null;
}

export async function lockdownRow(env: DemoEnv, id: string): Promise<LockdownRow> {
  const [row] = await env.hostlock.database.sql<LockdownRow[]>`
    select id, state, approval_ts, mde_action_id, expires_at::text as expires_at from lockdowns where id = ${id}`;
  if (!row) {
    throw new Error(`demo: no lockdown ${id}`);
  }
  return row;
}

export function untilState(env: DemoEnv, id: string, state: string): Promise<LockdownRow> {
  return until(async () => {
    const row = await lockdownRow(env, id);
    return row.state === state ? row : null;
  }, `lockdown ${id} to become ${state}`);
}

/** A Slack Web API call made after index `from` (see `slack.calls.length`) that matches. */
export function untilCall(
  env: DemoEnv,
  from: number,
  method: string,
  match: (c: SlackCall) => boolean,
  what: string,
): Promise<SlackCall> {
  return until(
    () => env.slack.calls.slice(from).find((c) => c.method === method && match(c)),
    `${what} (${method})`,
  );
}

/** A response_url answer posted after index `from` whose text matches `re`. */
export function untilResponse(env: DemoEnv, from: number, re: RegExp, what: string): Promise<unknown> {
  return until(() => env.slack.responses.slice(from).find((p) => re.test(JSON.stringify(p.body))), what).then(
    (p) => p.body,
  );
}

/** The answer matching `re`: in the ack itself when hostlock answered at once, else on response_url. */
export function untilAnswer(
  env: DemoEnv,
  from: number,
  ack: { text: string },
  re: RegExp,
  what: string,
): Promise<unknown> {
  return re.test(ack.text) ? Promise.resolve(ack.text) : untilResponse(env, from, re, what);
}

/** A Defender request after index `from`, e.g. the isolate POST, answered with `status`. */
export function untilDefender(
  env: DemoEnv,
  from: number,
  method: string,
  pathEnd: string,
  status: number,
): Promise<unknown> {
  return until(
    () =>
      env.mde.requests
        .slice(from)
        .find((r) => r.method === method && r.path.endsWith(pathEnd) && r.status === status),
    `Defender to receive ${method} …${pathEnd}`,
  );
}

/**
 * Every notification written so far has been delivered (alert channels, syslog) and the syslog
 * receiver holds as many lines as were sent to it: the transcript of a step is then complete.
 */
export function untilDelivered(env: DemoEnv): Promise<true> {
  return until(async () => {
    const [row] = await env.hostlock.database.sql<{ pending: number; syslog: number }[]>`
      select count(*) filter (where delivered_at is null)::int as pending,
             count(*) filter (where sink like 'syslog:%' and delivered_at is not null)::int as syslog
      from outbox`;
    return !!row && row.pending === 0 && env.syslog.messages.length >= row.syslog;
  }, 'every notification to be delivered');
}

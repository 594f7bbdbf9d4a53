// The incident: lookup, lock request, refused self-approval, approval, isolation, reminder,
// extension, the REST API, release. People act through signed Slack requests exactly as Slack would
// send them; the demo itself only plays Defender's device (advanceActions) and the clock (it moves
// `expires_at` in the database, as the integration tests do).
import { ActionId, lockdownBlockId, ShortcutId } from '../src/slack/ids.js';
import { CHANNELS, type DemoEnv, PEOPLE, type Person } from './env.js';
import type { Transcript } from './transcript.js';
import {
  lockdownRow,
  until,
  untilAnswer,
  untilCall,
  untilDefender,
  untilDelivered,
  untilResponse,
  untilState,
} from './wait.js';

const TOKEN_SHAPE = /hlk_[A-Za-z0-9_-]{43}/;

export async function playIncident(env: DemoEnv, t: Transcript): Promise<void> {
  const { signer, slack, mde, hostlock } = env;
  const sql = hostlock.database.sql;
  const ws042 = env.machines[0];
  if (!ws042) {
    throw new Error('demo: no machines');
  }

  const slash = async (
    who: Person,
    text: string,
    channel: { id: string; name: string } = CHANNELS.incident,
  ) => {
    t.act(who, `/hostlock ${text}`, channel.name);
    const r = await signer.command({ text, userId: PEOPLE[who].id, channelId: channel.id });
    t.ack(who, r);
    return r;
  };
  const click = async (
    who: Person,
    what: string,
    o: { actionId: string; lockdownId: string; ts: string; option?: string },
  ) => {
    t.act(who, what, CHANNELS.approvals.name);
    const r = await signer.blockAction({
      userId: PEOPLE[who].id,
      actionId: o.actionId,
      blockId: lockdownBlockId(o.lockdownId),
      channelId: CHANNELS.approvals.id,
      messageTs: o.ts,
      ...(o.option ? { selectedOption: o.option } : { value: o.lockdownId }),
    });
    t.ack(who, r);
  };
  /** Defender finishes what it has pending: Pending → InProgress → Succeeded. */
  const defenderCompletes = (what: string) => {
    t.note(
      `Defender carries out the ${what} on the device (the demo advances the peer's action: Pending → InProgress → Succeeded)`,
    );
    mde.advanceActions();
    mde.advanceActions();
  };
  /** The thread reply matching `re`, and the root message rewritten to match `root`, after index `from`. */
  const untilThread = async (from: number, l: { approvalTs: string }, re: RegExp, root?: RegExp) => {
    await untilCall(
      env,
      from,
      'chat.postMessage',
      (c) => c.args.thread_ts === l.approvalTs && re.test(String(c.args.text)),
      `a thread reply like ${re}`,
    );
    if (root) {
      await untilCall(
        env,
        from,
        'chat.update',
        (c) => c.args.ts === l.approvalTs && root.test(String(c.args.text)),
        `the request message to read ${root}`,
      );
    }
  };

  t.section('the NDR’s bot posts an alert; alice looks up the hosts it names, from the message itself');
  const alert = slack.addMessage({
    channel: CHANNELS.incident.id,
    user: 'U0NDRBOT01',
    botId: 'B0NDRBOT01',
    text: ':rotating_light: NDR detection: C2 beaconing',
    attachments: [
      {
        fallback: 'C2 beaconing',
        fields: [
          { title: 'Source', value: 'ws-042.contoso.com (10.10.0.11)' },
          { title: 'Destination', value: '203.0.113.9' },
        ],
      },
    ],
  });
  t.note(
    'NDR bot › posts “NDR detection: C2 beaconing · Source ws-042.contoso.com (10.10.0.11) · Destination 203.0.113.9”',
  );
  t.act(
    'alice',
    'uses the message shortcut “Look up hosts in message” on that alert',
    CHANNELS.incident.name,
  );
  let from = slack.responses.length;
  t.ack(
    'alice',
    await signer.messageShortcut({
      userId: PEOPLE.alice.id,
      callbackId: ShortcutId.lookupMessage,
      channelId: CHANNELS.incident.id,
      messageTs: alert.ts,
    }),
  );
  await untilResponse(env, from, /named in that message/, 'the hosts the alert names');

  t.section('alice, on the incident channel, looks the workstation up');
  from = slack.responses.length;
  const lookup = await slash('alice', 'lookup ws-042');
  if (/Looking up/.test(lookup.text)) {
    await untilResponse(env, from, /"Host ws-042/, 'the host card');
  }
  await untilDelivered(env);

  t.section('alice tries the domain controller too: it is on the exclusion list');
  from = slack.responses.length;
  const excluded = await slash('alice', 'lock dc-01 4h beaconing to 203.0.113.9');
  await untilAnswer(env, from, excluded, /exclusion list/, 'the exclusion-list refusal');
  await untilDelivered(env);

  t.section('alice asks for a 4-hour lockdown of ws-042');
  from = slack.responses.length;
  const requested = await slash('alice', 'lock ws-042 4h beaconing to 203.0.113.9');
  const answer = await untilAnswer(env, from, requested, /Lockdown `lck_/, 'the lockdown request');
  const id = /`(lck_[a-z0-9]+)`/.exec(JSON.stringify(answer))?.[1] ?? '';
  const approvalTs =
    (await until(async () => (await lockdownRow(env, id)).approval_ts, 'the approval request')) ?? '';
  const l = { id, approvalTs };
  await untilDelivered(env);

  t.section('alice clicks Approve on her own request: refused');
  from = slack.responses.length;
  await click('alice', 'clicks [Approve] on her own request', {
    actionId: ActionId.lockdownApprove,
    lockdownId: id,
    ts: approvalTs,
  });
  await untilResponse(env, from, /your own request/, 'the self-approval refusal');
  const stillPending = (await lockdownRow(env, id)).state === 'pending_approval';
  if (!stillPending || mde.requests.some((r) => r.path.endsWith('/isolate'))) {
    throw new Error('demo: self-approval changed something');
  }
  t.note('nothing changed: the request is still pending_approval and Defender received nothing');
  await untilDelivered(env);

  t.section('bob, on call, approves: hostlock asks Defender to isolate ws-042');
  let calls = slack.calls.length;
  let mdeFrom = mde.requests.length;
  await click('bob', 'clicks [Approve]', {
    actionId: ActionId.lockdownApprove,
    lockdownId: id,
    ts: approvalTs,
  });
  await untilDefender(env, mdeFrom, 'POST', `/machines/${ws042.id}/isolate`, 201);
  await until(async () => (await lockdownRow(env, id)).mde_action_id, 'the isolation action to be saved');
  await untilThread(calls, l, /Approved by/, /isolating/i);
  await untilDelivered(env);

  t.section('Defender isolates the device; the lockdown is active');
  calls = slack.calls.length;
  defenderCompletes('isolation');
  await untilState(env, id, 'active');
  await untilThread(calls, l, /is isolated/, /Locked down/);
  await untilDelivered(env);
  // The host row is derived data, written just after the lockdown's own transaction.
  await until(async () => {
    const [h] = await sql`select isolation_state from hosts where machine_id = ${ws042.id}`;
    return h?.isolation_state === 'isolated_by_hostlock';
  }, 'the host to show isolated_by_hostlock');
  from = slack.responses.length;
  const again = await slash('alice', 'lookup ws-042');
  if (/Looking up/.test(again.text)) {
    await untilResponse(env, from, /"Host ws-042/, 'the host card');
  }
  t.flush();

  t.section('3 h 50 min later: the reminder, with Extend');
  calls = slack.calls.length;
  t.note('time passes: the demo moves the end of the lockdown to 10 minutes from now in the database');
  await sql`update lockdowns set expires_at = now() + interval '10 minutes',
    locked_at = now() - interval '3 hours 50 minutes', next_check_at = now() where id = ${id}`;
  await hostlock.lockdownJobs.sweep();
  const reminder = await untilCall(
    env,
    calls,
    'chat.postMessage',
    (c) =>
      c.args.thread_ts === approvalTs &&
      JSON.stringify(c.args.blocks ?? []).includes(ActionId.lockdownExtend),
    'the reminder with Extend',
  );
  await untilDelivered(env);

  t.section('bob extends the lockdown by 1 hour');
  calls = slack.calls.length;
  const before = (await lockdownRow(env, id)).expires_at;
  await click('bob', 'picks “+1h” in the reminder’s [Extend by… ▾] menu', {
    actionId: ActionId.lockdownExtend,
    lockdownId: id,
    ts: String(reminder.response.ts ?? ''),
    option: '1h',
  });
  await until(async () => (await lockdownRow(env, id)).expires_at !== before, 'the new end');
  await untilThread(calls, l, /Extended/);
  await untilDelivered(env);

  t.section('carol makes an API token; the SIEM asks the REST API what is locked');
  const made = await slash('carol', 'token create siem-demo lockdown:view', CHANNELS.alerts);
  const token = TOKEN_SHAPE.exec(made.text)?.[0];
  if (!token) {
    throw new Error(`demo: no token in ${made.text}`);
  }
  t.act(
    'carol',
    `has the SIEM run: curl -H 'Authorization: Bearer hlk_…' ${hostlock.url}/api/v2.1/lockdown/host`,
  );
  const res = await fetch(`${hostlock.url}/api/v2.1/lockdown/host`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const json = (await res.json()) as unknown;
  t.block(`REST → HTTP ${res.status}`, JSON.stringify(json, null, 2).split('\n'));

  t.section('the time runs out: hostlock releases ws-042 through Defender');
  calls = slack.calls.length;
  mdeFrom = mde.requests.length;
  t.note('time passes again: the demo moves the (extended) end of the lockdown just into the past');
  await sql`update lockdowns set expires_at = now() - interval '1 second',
    locked_at = now() - interval '5 hours 1 second', next_check_at = now() where id = ${id}`;
  await hostlock.lockdownJobs.sweep();
  await untilDefender(env, mdeFrom, 'POST', `/machines/${ws042.id}/unisolate`, 201);
  await untilState(env, id, 'releasing');
  t.flush();
  defenderCompletes('release');
  await untilState(env, id, 'released');
  await untilThread(calls, l, /is released/, /Released/);
  await untilDelivered(env);
  t.flush();
}

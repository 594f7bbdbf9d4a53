import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackPeer, startSlackPeer } from '../../fakes/slack-peer.js';

const TOKEN = 'xoxb-test-peer-token';
let clock = 1_700_000_000_000;
let peer: SlackPeer;

beforeEach(async () => {
  clock = 1_700_000_000_000;
  peer = await startSlackPeer({ botToken: TOKEN, now: () => clock });
  peer.addChannel({ id: 'C1', name: 'alerts' });
  peer.addChannel({ id: 'C2', name: 'old', isArchived: true });
  peer.addChannel({ id: 'G1', name: 'secret', isPrivate: true, isMember: false });
  peer.addChannel({ id: 'C3', name: 'public-not-joined', isMember: false });
  peer.addUser({ id: 'U1', name: 'alice', realName: 'Alice A', email: 'alice@example.com' });
});
afterEach(async () => {
  await peer.close();
});

type Body = Record<string, unknown>;

async function form(method: string, fields: Record<string, string>, token: string | null = TOKEN) {
  const res = await fetch(`${peer.apiUrl}${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
}

async function json(method: string, args: Body) {
  const res = await fetch(`${peer.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(args),
  });
  return (await res.json()) as Body;
}

async function respond(url: string, body: Body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const modal = (callbackId = 'settings') => ({
  type: 'modal',
  callback_id: callbackId,
  title: { type: 'plain_text', text: 'Settings' },
  blocks: [],
});

describe('slack peer: auth and wire format', () => {
  it('answers not_authed without a token and invalid_auth for a wrong one, both with HTTP 200', async () => {
    expect((await form('auth.test', {}, null)).body).toEqual({ ok: false, error: 'not_authed' });
    const wrong = await form('auth.test', {}, 'xoxb-wrong');
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ ok: false, error: 'invalid_auth' });
  });

  it('accepts the token as a body field and answers auth.test with the bot identity', async () => {
    const res = await form('auth.test', { token: TOKEN }, null);
    expect(res.body).toMatchObject({
      ok: true,
      team_id: 'T0000TEAM',
      user_id: 'U0000BOT',
      bot_id: 'B0000BOT',
    });
    expect(peer.calls[0]).toMatchObject({ method: 'auth.test', token: TOKEN, args: {} });
  });

  it('answers unknown_method for methods it does not model', async () => {
    expect((await form('chat.scheduleMessage', { channel: 'C1' })).body).toEqual({
      ok: false,
      error: 'unknown_method',
    });
  });

  it('JSON-decodes blocks sent as a form field and accepts application/json bodies', async () => {
    await form('chat.postMessage', { channel: 'C1', text: 'hi', blocks: JSON.stringify([section('a')]) });
    await json('chat.postMessage', { channel: 'C1', text: 'hi', blocks: [section('b')] });
    const [a, b] = peer.callsTo('chat.postMessage');
    expect(a?.args.blocks).toEqual([section('a')]);
    expect(a?.contentType).toBe('application/x-www-form-urlencoded');
    expect(b?.args.blocks).toEqual([section('b')]);
    expect(b?.contentType).toBe('application/json; charset=utf-8');
  });

  it('refuses malformed blocks JSON with invalid_blocks_format', async () => {
    expect((await form('chat.postMessage', { channel: 'C1', blocks: '[{' })).body.error).toBe(
      'invalid_blocks_format',
    );
  });
});

describe('slack peer: chat.*', () => {
  it('posts with increasing ts and stores the message as the bot', async () => {
    const first = await form('chat.postMessage', { channel: 'C1', text: 'one' });
    const second = await form('chat.postMessage', { channel: '#alerts', text: 'two', thread_ts: '1.2' });
    expect(first.body).toMatchObject({ ok: true, channel: 'C1', ts: '1700000000.000000' });
    expect(second.body).toMatchObject({ ok: true, channel: 'C1', ts: '1700000000.000100' });
    expect(peer.messages[1]).toMatchObject({ channel: 'C1', text: 'two', threadTs: '1.2', user: 'U0000BOT' });
  });

  it.each([
    ['missing channel', { text: 'x' }, 'invalid_arguments'],
    ['unknown channel', { channel: 'C404', text: 'x' }, 'channel_not_found'],
    ['archived channel', { channel: 'C2', text: 'x' }, 'is_archived'],
    ['private channel without the bot', { channel: 'G1', text: 'x' }, 'not_in_channel'],
    ['neither text nor blocks', { channel: 'C1' }, 'no_text'],
  ])('refuses chat.postMessage with %s', async (_name, fields, error) => {
    expect((await form('chat.postMessage', fields)).body).toEqual({ ok: false, error });
    expect(peer.messages).toHaveLength(0);
  });

  it('refuses more than 50 blocks with invalid_blocks but accepts exactly 50', async () => {
    const blocks = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => section(String(i))));
    expect((await form('chat.postMessage', { channel: 'C1', blocks: blocks(51) })).body.error).toBe(
      'invalid_blocks',
    );
    expect((await form('chat.postMessage', { channel: 'C1', blocks: blocks(50) })).body.ok).toBe(true);
  });

  it('lets the bot post to a public channel it has not joined and to a user id (its DM)', async () => {
    expect((await form('chat.postMessage', { channel: 'C3', text: 'x' })).body.ok).toBe(true);
    expect((await form('chat.postMessage', { channel: 'U1', text: 'x' })).body.channel).toBe('D1');
  });

  it('updates its own message, keeping blocks when omitted, and refuses others', async () => {
    const { body } = await form('chat.postMessage', {
      channel: 'C1',
      text: 'v1',
      blocks: '[{"type":"divider"}]',
    });
    const ts = String(body.ts);
    const updated = await form('chat.update', { channel: 'C1', ts, text: 'v2' });
    expect(updated.body).toMatchObject({ ok: true, channel: 'C1', ts, text: 'v2' });
    expect(peer.findMessage('C1', ts)).toMatchObject({ text: 'v2', blocks: [{ type: 'divider' }], edits: 1 });

    const human = peer.addMessage({ channel: 'C1', text: 'from a human', user: 'U1' });
    expect((await form('chat.update', { channel: 'C1', ts: human.ts, text: 'x' })).body.error).toBe(
      'cant_update_message',
    );
    expect((await form('chat.update', { channel: 'C1', ts: '1.000001', text: 'x' })).body.error).toBe(
      'message_not_found',
    );
    expect((await form('chat.update', { channel: 'C1', ts, text: 'x'.repeat(4001) })).body.error).toBe(
      'msg_too_long',
    );
  });

  it('posts ephemeral messages only to known users', async () => {
    expect((await form('chat.postEphemeral', { channel: 'C1', user: 'U404', text: 'x' })).body.error).toBe(
      'user_not_in_channel',
    );
    const ok = await form('chat.postEphemeral', { channel: 'C1', user: 'U1', text: 'only you' });
    expect(ok.body).toEqual({ ok: true, message_ts: expect.any(String) });
    expect(peer.messages[0]).toMatchObject({ ephemeralUser: 'U1', text: 'only you' });
    expect(
      (await form('chat.update', { channel: 'C1', ts: String(ok.body.message_ts), text: 'y' })).body.error,
    ).toBe('message_not_found');
  });
});

describe('slack peer: views.*', () => {
  it('accepts a trigger_id once within 3 s and names each way it can fail', async () => {
    const view = JSON.stringify(modal());
    const trigger = peer.issueTriggerId({ userId: 'U1' });
    const opened = await form('views.open', { trigger_id: trigger, view });
    expect(opened.body).toMatchObject({ ok: true, view: { type: 'modal', callback_id: 'settings' } });
    expect((await form('views.open', { trigger_id: trigger, view })).body.error).toBe('exchanged_trigger_id');
    expect((await form('views.open', { trigger_id: '1.2.3', view })).body.error).toBe('invalid_trigger_id');
    const late = peer.issueTriggerId();
    clock += 3_001;
    expect((await form('views.open', { trigger_id: late, view })).body.error).toBe('expired_trigger_id');
  });

  it('stacks at most three modals', async () => {
    const view = JSON.stringify(modal());
    expect(
      (await form('views.push', { trigger_id: peer.issueTriggerId({ userId: 'U1' }), view })).body.error,
    ).toBe('not_found');
    await form('views.open', { trigger_id: peer.issueTriggerId({ userId: 'U1' }), view });
    for (let i = 0; i < 2; i++) {
      expect(
        (await form('views.push', { trigger_id: peer.issueTriggerId({ userId: 'U1' }), view })).body.ok,
      ).toBe(true);
    }
    expect(
      (await form('views.push', { trigger_id: peer.issueTriggerId({ userId: 'U1' }), view })).body.error,
    ).toBe('push_limit_reached');
  });

  it('updates a view by id, refusing a stale hash and an unknown id', async () => {
    const opened = await form('views.open', {
      trigger_id: peer.issueTriggerId(),
      view: JSON.stringify(modal()),
    });
    const v = opened.body.view as { id: string; hash: string };
    const next = JSON.stringify(modal('settings-2'));
    const updated = await form('views.update', { view_id: v.id, hash: v.hash, view: next });
    expect(updated.body).toMatchObject({ ok: true, view: { id: v.id, callback_id: 'settings-2' } });
    expect((await form('views.update', { view_id: v.id, hash: v.hash, view: next })).body.error).toBe(
      'hash_conflict',
    );
    expect((await form('views.update', { view_id: 'V404', view: next })).body.error).toBe('not_found');
  });

  it('publishes one Home view per user and refuses when the Home tab is off', async () => {
    const home = JSON.stringify({ type: 'home', blocks: [section('hi')] });
    const a = await form('views.publish', { user_id: 'U1', view: home });
    const b = await form('views.publish', { user_id: 'U1', view: home });
    expect((a.body.view as Body).id).toBe((b.body.view as Body).id);
    expect(peer.homeView('U1')?.view.blocks).toEqual([section('hi')]);
    expect((await form('views.publish', { user_id: 'U1', view: JSON.stringify(modal()) })).body.error).toBe(
      'invalid_arguments',
    );

    const off = await startSlackPeer({ botToken: TOKEN, homeTabEnabled: false });
    try {
      const res = await fetch(`${off.apiUrl}views.publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 'U1', view: { type: 'home', blocks: [] } }),
      });
      expect(await res.json()).toEqual({ ok: false, error: 'not_enabled' });
    } finally {
      await off.close();
    }
  });
});

describe('slack peer: directory methods', () => {
  it('lists user group members, or refuses unknown groups and free plans', async () => {
    peer.setUsergroup('S1', ['U1', 'U2']);
    expect((await form('usergroups.users.list', { usergroup: 'S1' })).body).toEqual({
      ok: true,
      users: ['U1', 'U2'],
    });
    expect((await form('usergroups.users.list', { usergroup: 'S9' })).body.error).toBe('no_such_subteam');
    peer.setPlanUpgradeRequired(true);
    expect((await form('usergroups.users.list', { usergroup: 'S1' })).body.error).toBe(
      'plan_upgrade_required',
    );
  });

  it('answers users.info, conversations.info and conversations.open in Slack shapes', async () => {
    expect((await form('users.info', { user: 'U1' })).body).toMatchObject({
      ok: true,
      user: { id: 'U1', name: 'alice', real_name: 'Alice A', profile: { email: 'alice@example.com' } },
    });
    expect((await form('users.info', { user: 'U404' })).body.error).toBe('user_not_found');
    expect((await form('conversations.info', { channel: 'G1' })).body).toMatchObject({
      channel: { id: 'G1', is_private: true, is_member: false },
    });
    expect((await form('conversations.info', { channel: 'C404' })).body.error).toBe('channel_not_found');
    expect((await form('conversations.open', { users: 'U1' })).body).toEqual({
      ok: true,
      channel: { id: 'D1' },
    });
    expect((await form('conversations.open', { users: 'U404' })).body.error).toBe('user_not_found');
  });
});

describe('slack peer: scripted faults', () => {
  it('consumes faults in order, then answers normally', async () => {
    peer.fail('auth.test', { error: 'invalid_auth' });
    peer.fail('auth.test', { status: 500, times: 2 });
    peer.fail('auth.test', { retryAfterSeconds: 7 });
    expect((await form('auth.test', {})).body.error).toBe('invalid_auth');
    expect((await form('auth.test', {})).status).toBe(500);
    expect((await form('auth.test', {})).status).toBe(500);
    const limited = await form('auth.test', {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toEqual({ ok: false, error: 'ratelimited' });
    expect((await form('auth.test', {})).body.ok).toBe(true);
  });
});

describe('slack peer: response_url', () => {
  it('accepts five posts, then answers 404 used_url; unknown ids get 404', async () => {
    const url = peer.newResponseUrl({ channelId: 'C1', userId: 'U1' });
    for (let i = 0; i < 5; i++) {
      expect((await respond(url, { text: `n${i}` })).status).toBe(200);
    }
    expect(await respond(url, { text: 'six' })).toEqual({
      status: 404,
      body: { ok: false, error: 'used_url' },
    });
    expect((await respond(`${peer.url}/respond/nope`, { text: 'x' })).status).toBe(404);
    expect(peer.messages.filter((m) => m.via === 'response_url')).toHaveLength(5);
    expect(peer.messages[0]).toMatchObject({ ephemeralUser: 'U1', channel: 'C1' });
  });

  it('expires after 30 minutes', async () => {
    const url = peer.newResponseUrl();
    clock += 30 * 60_000 + 1;
    expect((await respond(url, { text: 'late' })).body.error).toBe('expired_url');
  });

  it('replaces or deletes the message it is bound to, and posts in_channel replies publicly', async () => {
    const { body } = await form('chat.postMessage', { channel: 'C1', text: 'approve?' });
    const ts = String(body.ts);
    const url = peer.newResponseUrl({ channelId: 'C1', userId: 'U1', messageTs: ts });
    expect((await respond(url, { replace_original: true, text: 'approved' })).status).toBe(200);
    expect(peer.findMessage('C1', ts)).toMatchObject({ text: 'approved', edits: 1 });
    await respond(url, { delete_original: true });
    expect(peer.findMessage('C1', ts)).toBeUndefined();
    expect(peer.responses.map((r) => r.effect)).toEqual(['replaced', 'deleted']);

    await respond(peer.newResponseUrl({ channelId: 'C1', userId: 'U1' }), {
      response_type: 'in_channel',
      text: 'all',
    });
    expect(peer.messages.at(-1)).toMatchObject({ text: 'all', channel: 'C1' });
    expect(peer.messages.at(-1)?.ephemeralUser).toBeUndefined();
  });
});

describe('slack peer: waiting', () => {
  it('resolves waitForCall on a later call and rejects with the calls it saw on timeout', async () => {
    const waiting = peer.waitForCall('chat.postMessage', (c) => c.args.text === 'later');
    await form('chat.postMessage', { channel: 'C1', text: 'sooner' });
    await form('chat.postMessage', { channel: 'C1', text: 'later' });
    expect((await waiting).args.text).toBe('later');
    await expect(peer.waitForCall('views.open', undefined, 50)).rejects.toThrow(
      /no matching views\.open call within 50 ms; saw \[chat\.postMessage, chat\.postMessage\]/,
    );
    const response = peer.waitForResponse((r) => r.status === 200);
    await respond(peer.newResponseUrl({ channelId: 'C1' }), { text: 'done' });
    expect((await response).body).toEqual({ text: 'done' });
  });
});

describe('slack peer: wire compatibility with @slack/web-api', () => {
  const client = (token = TOKEN) =>
    new webApi.WebClient(token, {
      slackApiUrl: peer.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });

  it('receives form bodies with JSON-encoded blocks and view and a bearer header', async () => {
    const res = await client().chat.postMessage({ channel: 'C1', text: 'hello', blocks: [section('*hi*')] });
    expect(res).toMatchObject({ ok: true, channel: 'C1', message: { text: 'hello' } });
    await client().views.open({ trigger_id: peer.issueTriggerId(), view: modal() as never });
    const [post, open] = peer.calls;
    expect(post).toMatchObject({
      method: 'chat.postMessage',
      token: TOKEN,
      contentType: 'application/x-www-form-urlencoded',
      args: { channel: 'C1', text: 'hello', blocks: [section('*hi*')] },
    });
    expect(post?.rawBody).toContain(`blocks=${encodeURIComponent(JSON.stringify([section('*hi*')]))}`);
    expect(open?.args.view).toEqual(modal());
  });

  it('surfaces ok:false as a platform error and 429 as a rate-limit error', async () => {
    const refused = await client()
      .chat.postMessage({ channel: 'C404', text: 'x' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(webApi.WebAPIPlatformError);
    expect((refused as InstanceType<typeof webApi.WebAPIPlatformError>).data.error).toBe('channel_not_found');

    peer.fail('chat.postMessage', { retryAfterSeconds: 3 });
    const limited = await client()
      .chat.postMessage({ channel: 'C1', text: 'x' })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(webApi.WebAPIRateLimitedError);
    expect((limited as InstanceType<typeof webApi.WebAPIRateLimitedError>).retryAfter).toBe(3);

    const badAuth = await client('xoxb-other')
      .auth.test()
      .catch((e: unknown) => e);
    expect((badAuth as InstanceType<typeof webApi.WebAPIPlatformError>).data.error).toBe('invalid_auth');
  });
});

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackPeer, startSlackPeer } from '../../fakes/slack-peer.js';
import { SlackSigner, type Tamper } from '../../fakes/slack-signer.js';

const SECRET = 'signer-test-signing-secret';
const NOW_MS = 1_700_000_000_000;
const NOW_SEC = NOW_MS / 1000;

interface Received {
  status: number;
  reason?: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  parsed?: Record<string, unknown>;
}

/**
 * A verifier written straight from slack.md §3.1/§3.2, independent of the signer: HMAC over the raw bytes,
 * |now − ts| ≤ 300 s, version v0 only, constant-time compare, exact content-type match for form decoding.
 */
async function startVerifier(secret: string, nowSec: () => number) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    const record: Received = { status: 0, headers: req.headers, rawBody: raw.toString('utf8') };
    received.push(record);
    const end = (status: number, reason?: string, body = '') => {
      record.status = status;
      if (reason) {
        record.reason = reason;
      }
      res.writeHead(status, body ? { 'content-type': 'application/json' } : {}).end(body);
    };
    const ts = req.headers['x-slack-request-timestamp'];
    const sig = req.headers['x-slack-signature'];
    if (typeof ts !== 'string' || typeof sig !== 'string') {
      return end(401, 'missing_headers');
    }
    if (!/^\d+$/.test(ts) || Math.abs(nowSec() - Number(ts)) > 300) {
      return end(401, 'stale');
    }
    if (!sig.startsWith('v0=')) {
      return end(401, 'bad_version');
    }
    const expected = Buffer.from(
      `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(raw).digest('hex')}`,
    );
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return end(401, 'mismatch');
    }
    try {
      record.parsed =
        req.headers['content-type'] === 'application/x-www-form-urlencoded'
          ? Object.fromEntries(new URLSearchParams(record.rawBody))
          : (JSON.parse(record.rawBody) as Record<string, unknown>);
    } catch {
      return end(400, 'unparseable');
    }
    if (record.parsed?.type === 'url_verification') {
      return end(200, undefined, JSON.stringify({ challenge: record.parsed.challenge }));
    }
    return end(200, undefined, '{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    received,
    last: (): Received => {
      const r = received.at(-1);
      if (!r) {
        throw new Error('verifier received nothing');
      }
      return r;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let peer: SlackPeer;
let verifier: Awaited<ReturnType<typeof startVerifier>>;
let signer: SlackSigner;

beforeEach(async () => {
  peer = await startSlackPeer({ botToken: 'xoxb-signer-test', now: () => NOW_MS });
  peer.addChannel({ id: 'C1', name: 'alerts' });
  peer.addUser({ id: 'U1', name: 'alice' });
  verifier = await startVerifier(SECRET, () => NOW_SEC);
  signer = new SlackSigner({ signingSecret: SECRET, eventsUrl: verifier.url, peer, now: () => NOW_MS });
});
afterEach(async () => {
  await verifier.close();
  await peer.close();
});

const payloadOf = (r: Received): Record<string, unknown> =>
  JSON.parse(String(r.parsed?.payload)) as Record<string, unknown>;

describe('signer: signatures', () => {
  it("reproduces Slack's published example signature", () => {
    // https://api.slack.com/authentication/verifying-requests-from-slack (worked example)
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const docs = new SlackSigner({
      signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      eventsUrl: 'http://unused',
    });
    expect(docs.sign(body, 1531420618)).toEqual({
      timestamp: '1531420618',
      signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    });
  });

  it('signs v0:{ts}:{rawBody} with HMAC-SHA256 over the UTF-8 bytes', () => {
    const body = '{"text":"héllo ✓"}';
    const expected = createHmac('sha256', SECRET)
      .update(Buffer.from(`v0:1700000000:${body}`, 'utf8'))
      .digest('hex');
    expect(signer.sign(body, 1700000000).signature).toBe(`v0=${expected}`);
  });
});

describe('signer: well-formed requests pass an independent verifier', () => {
  it('sends a slash command as exactly the §4.1 form fields, with a live response_url and trigger_id', async () => {
    const res = await signer.command({ text: 'lock web-01 4h', userId: 'U1', channelId: 'C1' });
    expect(res.status).toBe(200);
    const r = verifier.last();
    expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.keys(r.parsed ?? {}).sort()).toEqual(
      [
        'token',
        'team_id',
        'team_domain',
        'channel_id',
        'channel_name',
        'user_id',
        'user_name',
        'command',
        'text',
        'api_app_id',
        'is_enterprise_install',
        'response_url',
        'trigger_id',
      ].sort(),
    );
    expect(r.parsed).toMatchObject({
      team_id: 'T0000TEAM',
      channel_id: 'C1',
      channel_name: 'alerts',
      user_id: 'U1',
      user_name: 'alice',
      command: '/hostlock',
      text: 'lock web-01 4h',
      is_enterprise_install: 'false',
      response_url: res.responseUrl,
      trigger_id: res.triggerId,
    });
    expect(res.responseUrl).toMatch(new RegExp(`^${peer.url}/respond/`));

    const reply = await fetch(String(res.responseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'locked' }),
    });
    expect(reply.status).toBe(200);
    expect(peer.messages.at(-1)).toMatchObject({ channel: 'C1', ephemeralUser: 'U1', text: 'locked' });

    const open = await fetch(`${peer.apiUrl}views.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-signer-test' },
      body: JSON.stringify({
        trigger_id: res.triggerId,
        view: { type: 'modal', title: { type: 'plain_text', text: 't' } },
      }),
    });
    expect(await open.json()).toMatchObject({ ok: true, view: { type: 'modal' } });
    expect(peer.view(peer.views[0]?.id ?? '')?.userId).toBe('U1');
  });

  it('sends a click on a peer message as block_actions with message container and a bound response_url', async () => {
    const msg = peer.addMessage({ channel: 'C1', text: 'Approve?', user: peer.botUserId, blocks: [] });
    const res = await signer.blockAction({
      userId: 'U1',
      actionId: 'lockdown.approve',
      blockId: 'decision',
      value: 'ld_1',
      channelId: 'C1',
      messageTs: msg.ts,
    });
    expect(res.status).toBe(200);
    const p = payloadOf(verifier.last());
    expect(p).toMatchObject({
      type: 'block_actions',
      user: { id: 'U1', username: 'alice', name: 'alice', team_id: 'T0000TEAM' },
      team: { id: 'T0000TEAM', domain: 'hostlock-test' },
      api_app_id: 'A0000APP',
      is_enterprise_install: false,
      trigger_id: res.triggerId,
      container: { type: 'message', message_ts: msg.ts, channel_id: 'C1', is_ephemeral: false },
      channel: { id: 'C1', name: 'alerts' },
      message: { type: 'message', ts: msg.ts, text: 'Approve?', user: 'U0000BOT' },
      response_url: res.responseUrl,
      actions: [{ type: 'button', action_id: 'lockdown.approve', block_id: 'decision', value: 'ld_1' }],
    });
    await fetch(String(res.responseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Approved' }),
    });
    expect(peer.findMessage('C1', msg.ts)?.text).toBe('Approved');
  });

  it('sends a click in a modal with a view container, the peer view and no response_url', async () => {
    peer.addUser({ id: 'U2', name: 'bob' });
    const trigger = peer.issueTriggerId({ userId: 'U2' });
    const opened = (await (
      await fetch(`${peer.apiUrl}views.open`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-signer-test' },
        body: JSON.stringify({
          trigger_id: trigger,
          view: {
            type: 'modal',
            callback_id: 'settings',
            private_metadata: 'pm',
            title: { type: 'plain_text', text: 't' },
          },
        }),
      })
    ).json()) as { view: { id: string; hash: string } };
    await signer.blockAction({
      userId: 'U2',
      actionId: 'retention',
      blockId: 'retention_block',
      selectedOption: '30',
      viewId: opened.view.id,
    });
    const p = payloadOf(verifier.last());
    expect(p).toMatchObject({
      container: { type: 'view', view_id: opened.view.id },
      view: { id: opened.view.id, hash: opened.view.hash, private_metadata: 'pm', callback_id: 'settings' },
      actions: [{ type: 'static_select', selected_option: { value: '30' } }],
    });
    expect(p).not.toHaveProperty('response_url');
  });

  it('sends a view_submission with state.values, private_metadata, hash and callback_id', async () => {
    const values = { retention_block: { retention: { type: 'plain_text_input', value: '30' } } };
    await signer.viewSubmission({
      userId: 'U1',
      callbackId: 'settings',
      values,
      privateMetadata: '{"v":1}',
      viewId: 'V123',
      hash: '1700000000.abcd',
    });
    expect(payloadOf(verifier.last())).toMatchObject({
      type: 'view_submission',
      team: { id: 'T0000TEAM' },
      user: { id: 'U1' },
      response_urls: [],
      view: {
        id: 'V123',
        type: 'modal',
        callback_id: 'settings',
        private_metadata: '{"v":1}',
        hash: '1700000000.abcd',
        state: { values },
      },
    });
  });

  it('sends events as application/json event_callback envelopes, and url_verification gets its challenge', async () => {
    await signer.appHomeOpened({ userId: 'U1', eventId: 'Ev1' });
    const r = verifier.last();
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.parsed).toMatchObject({
      type: 'event_callback',
      event_id: 'Ev1',
      team_id: 'T0000TEAM',
      event_time: NOW_SEC,
      authorizations: [{ team_id: 'T0000TEAM', user_id: 'U0000BOT', is_bot: true }],
      event: {
        type: 'app_home_opened',
        user: 'U1',
        channel: 'D1',
        tab: 'home',
        event_ts: '1700000000.000000',
      },
    });
    const res = await signer.urlVerification('ch4ll3nge');
    expect(res.json()).toEqual({ challenge: 'ch4ll3nge' });
  });
});

describe('signer: each tamper breaks exactly what it names', () => {
  it.each<[string, number, string, Tamper]>([
    ['timestamp 301 s old', 401, 'stale', { timestampOffsetSec: -301 }],
    ['timestamp 301 s ahead', 401, 'stale', { timestampOffsetSec: 301 }],
    ['timestamp 299 s old (inside the window)', 200, 'accepted', { timestampOffsetSec: -299 }],
    ['bad signature', 401, 'mismatch', { badSignature: true }],
    ['wrong secret', 401, 'mismatch', { wrongSecret: 'not-the-secret' }],
    ['no signature headers', 401, 'missing_headers', { omitHeaders: true }],
    ['flipped body byte', 401, 'mismatch', { flipBodyByte: true }],
    ['version v1', 401, 'bad_version', { version: 'v1' }],
    [
      'form body labelled JSON with charset',
      400,
      'unparseable',
      { contentType: 'application/json; charset=utf-8' },
    ],
  ])('%s → %i %s', async (_name, status, reason, tamper) => {
    const res = await signer.command({ text: 'status', userId: 'U1' }, tamper);
    expect(res.status).toBe(status);
    expect(verifier.last().reason ?? 'accepted').toBe(reason);
  });

  it('badSignature and version change only the signature header, one character or the label', async () => {
    const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
    const good = signer.sign(body, NOW_SEC).signature;
    const bad = await signer.send(body, 'application/x-www-form-urlencoded', { badSignature: true });
    const sent = String(bad.request.headers['x-slack-signature']);
    expect([...sent].filter((ch, i) => ch !== good[i])).toHaveLength(1);
    const v1 = await signer.send(body, 'application/x-www-form-urlencoded', { version: 'v1' });
    expect(v1.request.headers['x-slack-signature']).toBe(good.replace(/^v0=/, 'v1='));
  });

  it('flipBodyByte signs the real body and changes exactly one byte of what is sent', async () => {
    const body = JSON.stringify({ type: 'event_callback', event: { type: 'app_home_opened' } });
    await signer.send(body, 'application/json', { flipBodyByte: true });
    const r = verifier.last();
    expect(r.headers['x-slack-signature']).toBe(signer.sign(body, NOW_SEC).signature);
    const a = Buffer.from(body);
    const b = Buffer.from(r.rawBody);
    expect(b.length).toBe(a.length);
    expect([...a].filter((byte, i) => byte !== b[i])).toHaveLength(1);
  });

  it('adds retry headers and signed raw bodies without breaking the signature, and replays byte for byte', async () => {
    const res = await signer.event({ event: { type: 'app_home_opened', user: 'U1' } }, { retryNum: 2 });
    expect(res.status).toBe(200);
    expect(verifier.last().headers).toMatchObject({
      'x-slack-retry-num': '2',
      'x-slack-retry-reason': 'http_timeout',
    });

    const raw = await signer.command({ text: 'ignored', userId: 'U1' }, { rawBody: 'ssl_check=1&token=x' });
    expect(raw.status).toBe(200);
    expect(verifier.last().rawBody).toBe('ssl_check=1&token=x');

    const replay = await signer.resend(res.request);
    expect(replay.status).toBe(200);
    const [first, second] = verifier.received.filter((x) => x.headers['x-slack-retry-num'] === '2');
    expect(second?.rawBody).toBe(first?.rawBody);
    expect(second?.headers['x-slack-signature']).toBe(first?.headers['x-slack-signature']);
  });
});

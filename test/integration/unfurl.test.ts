import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdOfLink, UNFURLS_PER_MESSAGE } from '../../src/slack/events/link-shared.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { bootHarness, type Harness, until } from '../helpers/harness.js';

// Issue #18, item 8: a Defender machine link posted where hostlock is unfurls into the compact host
// card (link_shared → chat.unfurl), for a poster who may view lockdowns; no controls in it.

const ANALYST = 'U0UNFURLA1';
const STRANGER = 'U0UNFURLS1';
const CHANNEL = 'C0UNFURL01';
const PORTAL = 'https://security.microsoft.com';

let h: Harness;
let web: MdeMachine;

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('analyst', ANALYST);
  h.slack.addChannel({ id: CHANNEL, name: 'alerts-ndr', isMember: true });
  web = h.mde.machine({ computerDnsName: 'unfurl-web-01.contoso.com', lastIpAddress: '10.9.9.1' });
  h.mde.addMachines([web]);
  expect((await h.app.hostsSync.run()).status).toBe('ok');
});
afterAll(() => h.close());

/** A message with `urls` posted by `user` (another bot's alert, say), and Slack's link_shared for it. */
async function share(user: string, urls: string[]) {
  const m = h.slack.addMessage({
    channel: CHANNEL,
    text: `NDR alert: ${urls.map((u) => `<${u}>`).join(' ')}`,
    user,
  });
  await h.signer.event({
    event: {
      type: 'link_shared',
      channel: CHANNEL,
      is_bot_user_member: true,
      user,
      message_ts: m.ts,
      unfurl_id: `${CHANNEL}.${m.ts}.abc`,
      source: 'conversations_history',
      links: urls.map((url) => ({ domain: new URL(url).hostname, url })),
    },
  });
  return m;
}

describe('Defender links unfurl into the host card', () => {
  it('for an analyst: the compact card, from the inventory, without controls', async () => {
    const url = `${PORTAL}/machines/${web.id}/overview`;
    const m = await share(ANALYST, [url]);
    const unfurled = await until(
      async () => h.slack.findMessage(CHANNEL, m.ts)?.unfurls?.[url] ?? null,
      'the unfurl',
    );
    const text = JSON.stringify(unfurled);
    expect(text).toContain('unfurl-web-01.contoso.com');
    expect(text).toContain(web.id);
    expect(text).not.toContain('"actions"');
    expect(text).not.toMatch(/exclusion|Requested by|Lock for/);
  });

  it('not in a channel hostlock is not in, nor in one shared with another organisation', async () => {
    const url = `${PORTAL}/machines/${web.id}`;
    const before = h.slack.callsTo('chat.unfurl').length;
    const m = h.slack.addMessage({ channel: CHANNEL, text: `see <${url}>`, user: ANALYST });
    await h.signer.event({
      event: {
        type: 'link_shared',
        channel: CHANNEL,
        is_bot_user_member: false,
        user: ANALYST,
        message_ts: m.ts,
        links: [{ domain: 'security.microsoft.com', url }],
      },
    });
    await until(async () => (h.logs.some((l) => l.includes('unfurl.not_here')) ? true : null), 'the refusal');
    // a Slack Connect channel: people of another organisation read along
    const shared = h.slack.addMessage({ channel: CHANNEL, text: `see <${url}>`, user: ANALYST });
    const refusals = h.logs.filter((l) => l.includes('unfurl.not_here')).length;
    await h.signer.event({
      extShared: true,
      event: {
        type: 'link_shared',
        channel: CHANNEL,
        is_bot_user_member: true,
        user: ANALYST,
        message_ts: shared.ts,
        links: [{ domain: 'security.microsoft.com', url }],
      },
    });
    await until(
      async () => (h.logs.filter((l) => l.includes('unfurl.not_here')).length > refusals ? true : null),
      'the shared channel refused',
    );
    expect(h.slack.callsTo('chat.unfurl')).toHaveLength(before);
  });

  it('not for a poster without lockdown:view, and never by asking Defender', async () => {
    const before = h.mde.requests.length;
    const url = `${PORTAL}/machines/${web.id}`;
    await share(STRANGER, [url]);
    await share(ANALYST, [`${PORTAL}/machines/${'f'.repeat(40)}`]); // not in the inventory
    const handled = (what: string) => h.logs.filter((l) => l.includes(what)).length;
    await until(
      async () => (handled('unfurl.not_permitted') >= 1 ? true : null),
      'the stranger’s link refused',
    );
    await until(
      async () => (handled('unfurl.no_known_machine') >= 1 ? true : null),
      'the unknown machine passed over',
    );
    // the stranger's link, though known, was not unfurled either
    expect(h.slack.callsTo('chat.unfurl')).toHaveLength(1); // the analyst's, in the test before
    expect(
      h.slack.callsTo('chat.unfurl').filter((c) => JSON.stringify(c.args).includes('f'.repeat(40))),
    ).toHaveLength(0);
    expect(h.mde.requests.length).toBe(before);
  });

  it('ignores look-alike domains and other paths, and unfurls a few links a message at most', async () => {
    expect(
      machineIdOfLink(`https://security.microsoft.com.evil.example/machines/${web.id}`, PORTAL),
    ).toBeNull();
    expect(machineIdOfLink(`https://evil@security.microsoft.com/machines/${web.id}`, PORTAL)).toBeNull();
    expect(machineIdOfLink(`http://security.microsoft.com/machines/${web.id}`, PORTAL)).toBeNull();
    expect(machineIdOfLink(`https://security.microsoft.com/incidents/${web.id}`, PORTAL)).toBeNull();
    expect(
      machineIdOfLink(`https://SECURITY.microsoft.com/machines/v2/${web.id.toUpperCase()}/timeline`, PORTAL),
    ).toBe(web.id);
    const extra = Array.from({ length: UNFURLS_PER_MESSAGE + 3 }, () => h.mde.machine({}));
    h.mde.addMachines(extra);
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const urls = extra.map((x) => `${PORTAL}/machines/${x.id}`);
    const m = await share(ANALYST, urls);
    const got = await until(async () => {
      const u = h.slack.findMessage(CHANNEL, m.ts)?.unfurls;
      return u ? u : null;
    }, 'the unfurls');
    expect(Object.keys(got)).toHaveLength(UNFURLS_PER_MESSAGE);
  });
});

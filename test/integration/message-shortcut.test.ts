import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATES_MAX, hostCandidates } from '../../src/core/hosts/message-hosts.js';
import { ShortcutId } from '../../src/slack/ids.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { allText, bootHarness, type Harness } from '../helpers/harness.js';

// Issue #18, item 1 (its lookup half): "Look up hosts in message" on an alert another tool's bot
// posted, attachments included, answers with the hosts it names that the inventory knows.

const ANALYST = 'U0SHORTAN1';
const STRANGER = 'U0SHORTST1';
const CHANNEL = 'C0NDRALERT';
let h: Harness;
let web: MdeMachine;
let db1: MdeMachine;

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('analyst', ANALYST);
  h.slack.addChannel({ id: CHANNEL, name: 'ndr-alerts', isMember: true });
  web = h.mde.machine({ computerDnsName: 'sc-web-01.contoso.com', lastIpAddress: '10.44.0.7' });
  db1 = h.mde.machine({ computerDnsName: 'sc-db-01.contoso.com', lastIpAddress: '10.44.0.8' });
  h.mde.addMachines([web, db1]);
  expect((await h.app.hostsSync.run()).status).toBe('ok');
});
afterAll(() => h.close());

async function shortcut(user: string, message: { text: string; attachments?: unknown[] }) {
  const m = h.slack.addMessage({ channel: CHANNEL, user: 'U0NDRBOT01', botId: 'B0NDRBOT01', ...message });
  const from = h.slack.responses.length;
  const ack = await h.signer.messageShortcut({
    userId: user,
    callbackId: ShortcutId.lookupMessage,
    channelId: CHANNEL,
    messageTs: m.ts,
  });
  expect(ack.status).toBe(200);
  const p = await h.slack.waitForResponse((r) => h.slack.responses.indexOf(r) >= from);
  return allText(p.body);
}

describe('Look up hosts in message', () => {
  it('lists the hosts a bot’s alert names, in its text and attachments, and the candidates it does not know', async () => {
    const text = await shortcut(ANALYST, {
      text: 'Detection: C2 beacon from sc-web-01 to 203.0.113.9',
      attachments: [
        {
          fallback: 'details',
          fields: [
            { title: 'Source', value: `10.44.0.8 (${db1.id})` },
            { title: 'Peer', value: 'ghost-77.contoso.com' },
          ],
        },
      ],
    });
    expect(text).toMatch(/2 hosts named in that message/);
    expect(text).toContain(web.id);
    expect(text).toContain(db1.id);
    expect(text).toMatch(/Not in the inventory: .*203\.0\.113\.9.*ghost-77\.contoso\.com/);
  });

  it('never takes a word for every host it begins, nor a mention or a link label for a host', async () => {
    const text = await shortcut(ANALYST, {
      text: 'sc <!here> <@U0ADMIN001> <https://sc-web-01.contoso.com.evil.example/|sc-db-01>',
    });
    expect(text).not.toContain(web.id);
    expect(text).toContain(db1.id); // the label names it; the evil host does not match
    expect(text).not.toMatch(/U0ADMIN001|here/);
  });

  it('says how many candidates it did not look at in a message naming thousands', async () => {
    const flood = Array.from({ length: 3000 }, (_, i) => `host-${i}.flood.example`).join(' ');
    const text = await shortcut(ANALYST, { text: `${flood} sc-web-01` });
    expect(text).toMatch(
      new RegExp(`more candidates were not looked at \\(at most ${CANDIDATES_MAX} a message\\)`),
    );
    expect(hostCandidates(flood).queries).toHaveLength(CANDIDATES_MAX);
  });

  it('is refused to a user without lockdown:view, and asks Defender nothing', async () => {
    const before = h.mde.requests.length;
    const text = await shortcut(STRANGER, { text: 'sc-web-01' });
    expect(text).toMatch(/lockdown:view/);
    expect(text).not.toContain(web.id);
    expect(h.mde.requests.length).toBe(before);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATES_MAX, hostCandidates } from '../../src/core/hosts/message-hosts.js';
import { COMMANDS_PER_MINUTE } from '../../src/slack/commands/hostlock.js';
import { LOCK_MESSAGE_VIEW, ShortcutId } from '../../src/slack/ids.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';

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
    expect(text).toContain(db1.id); // the label people see names it; the link's hidden host does not count
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

describe('Lock hosts in message', () => {
  async function openFrom(user: string, text: string) {
    const m = h.slack.addMessage({ channel: CHANNEL, user: 'U0NDRBOT01', botId: 'B0NDRBOT01', text });
    const from = h.slack.calls.length;
    await h.signer.messageShortcut({
      userId: user,
      callbackId: ShortcutId.lockMessage,
      channelId: CHANNEL,
      messageTs: m.ts,
    });
    return { m, from };
  }

  it('opens a modal with the hosts pre-selected and the message’s link as the reason; the hosts chosen make one request', async () => {
    await h.grant('responder', 'U0SHORTRS1');
    await h.settings({ approver_channel: 'C0SHORTAPP' });
    h.slack.addChannel({ id: 'C0SHORTAPP', name: 'approvals', isMember: true });
    const { m, from } = await openFrom('U0SHORTRS1', `beacon from sc-web-01 and ${db1.id}, peer ghost-9`);
    const opened = await h.slack.waitForCall('views.open', (c) => h.slack.calls.indexOf(c) >= from);
    type Block = {
      block_id?: string;
      element: { initial_options?: Array<{ value: string }>; initial_value?: string };
    };
    const view = opened.args.view as { blocks: Block[]; private_metadata: string; id?: string };
    const hostBlock = view.blocks.find((b) => b.block_id === 'hosts');
    const values = (hostBlock?.element.initial_options ?? []).map((o) => o.value).sort();
    expect(values).toEqual([web.id, db1.id].sort());
    const reason = view.blocks.find((b) => b.block_id === 'reason')?.element.initial_value ?? '';
    expect(reason).toContain(`/archives/${CHANNEL}/p${m.ts.replace('.', '')}`);
    const sub = await h.signer.viewSubmission({
      userId: 'U0SHORTRS1',
      callbackId: LOCK_MESSAGE_VIEW,
      privateMetadata: view.private_metadata,
      ...(typeof opened.response.view === 'object' && opened.response.view && 'id' in opened.response.view
        ? { viewId: String((opened.response.view as { id: string }).id) }
        : {}),
      values: {
        hosts: {
          value: { type: 'multi_static_select', selected_options: [{ value: web.id }, { value: db1.id }] },
        },
        duration: { value: { type: 'static_select', selected_option: { value: '2h' } } },
        reason: { value: { type: 'plain_text_input', value: reason } },
      },
    });
    expect(sub.status).toBe(200);
    const told = await h.slack.waitForCall('chat.postEphemeral', (c) => c.args.user === 'U0SHORTRS1');
    expect(String(told.args.text)).toMatch(
      /Request `req_\w+` to lock 2 hosts for 2 h is waiting for approval in <#C0SHORTAPP>: /,
    );
    expect(String(told.args.text)).toContain('`sc-db-01.contoso.com`');
    expect(String(told.args.text)).toContain('`sc-web-01.contoso.com`');
    const rows = await h.db.sql<
      { machine_id: string; reason: string; duration_minutes: number; request_id: string }[]
    >`
      select machine_id, reason, duration_minutes, request_id from lockdowns
      where requested_by = 'slack:U0SHORTRS1' order by host_name`;
    expect(rows.map((r) => [r.machine_id, r.reason, r.duration_minutes])).toEqual([
      [db1.id, reason, 120],
      [web.id, reason, 120],
    ]);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(1);
    // one approval message for both, whose buttons name the request
    const roots = h.slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && c.args.channel === 'C0SHORTAPP' && !c.args.thread_ts,
    );
    expect(roots).toHaveLength(1);
    expect(JSON.stringify(roots[0]?.args.blocks)).toContain(`"value":"${rows[0]?.request_id}"`);
  });

  it('is refused to a user without lockdown:edit: no modal', async () => {
    const { from } = await openFrom(ANALYST, 'sc-web-01');
    const refusal = await h.slack.waitForResponse((r) => /lockdown:edit/.test(allText(r.body)));
    expect(allText(refusal.body)).toMatch(/lockdown:edit/);
    expect(h.slack.calls.slice(from).filter((c) => c.method === 'views.open')).toHaveLength(0);
  });

  it('re-checks the permission at submission: a forged submission by an analyst locks nothing', async () => {
    const before = (await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n;
    await h.signer.viewSubmission({
      userId: ANALYST,
      callbackId: LOCK_MESSAGE_VIEW,
      privateMetadata: JSON.stringify({ channel: CHANNEL, offered: [db1.id] }),
      values: {
        hosts: { value: { type: 'multi_static_select', selected_options: [{ value: db1.id }] } },
        duration: { value: { type: 'static_select', selected_option: { value: '1h' } } },
        reason: { value: { type: 'plain_text_input', value: 'x' } },
      },
    });
    const told = await h.slack.waitForCall('chat.postEphemeral', (c) => c.args.user === ANALYST);
    expect(String(told.args.text)).toMatch(/lockdown:edit/);
    expect((await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n).toBe(before);
  });

  it('ticks in advance only what the message names alone and visibly; offers at most 20; a choice not offered is refused', async () => {
    await h.grant('responder', 'U0SHORTRS2');
    const plain = h.mde.machine({ computerDnsName: 'scbackup.contoso.com' });
    const many = Array.from({ length: 22 }, (_, i) =>
      h.mde.machine({ computerDnsName: `sc-many-${i}.contoso.com` }),
    );
    h.mde.addMachines([plain, ...many]);
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const text = `scbackup is slow; <https://sc-db-01.contoso.com/|sc-web-01>; ${many.map((m) => m.computerDnsName).join(' ')}`;
    const { from } = await openFrom('U0SHORTRS2', text);
    const opened = await h.slack.waitForCall('views.open', (c) => h.slack.calls.indexOf(c) >= from);
    expect(opened.response.ok).toBe(true);
    type Block = {
      block_id?: string;
      element: { options?: Array<{ value: string }>; initial_options?: Array<{ value: string }> };
    };
    const view = opened.args.view as { blocks: Block[]; private_metadata: string };
    const hosts = view.blocks.find((b) => b.block_id === 'hosts')?.element;
    const offered = (hosts?.options ?? []).map((o) => o.value);
    const ticked = (hosts?.initial_options ?? []).map((o) => o.value);
    expect(offered).toHaveLength(20);
    expect(offered).not.toContain(db1.id); // only behind a link's label
    expect(ticked).toContain(web.id);
    if (offered.includes(plain.id)) {
      expect(ticked).not.toContain(plain.id); // a plain word never ticks
    }
    const before = (await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n;
    const sub = await h.signer.viewSubmission({
      userId: 'U0SHORTRS2',
      callbackId: LOCK_MESSAGE_VIEW,
      privateMetadata: view.private_metadata,
      values: {
        hosts: { value: { type: 'multi_static_select', selected_options: [{ value: db1.id }] } },
        duration: { value: { type: 'static_select', selected_option: { value: '1h' } } },
        reason: { value: { type: 'plain_text_input', value: 'x' } },
      },
    });
    expect(JSON.parse(sub.text).errors.hosts).toMatch(/among the hosts the message names/);
    expect((await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n).toBe(before);
  });

  it('does not open in lookup-only mode', async () => {
    await h.settings({ containment_enabled: false });
    try {
      const { from } = await openFrom('U0SHORTRS2', 'sc-web-01');
      const refusal = await h.slack.waitForResponse((r) => /lookup-only mode/.test(allText(r.body)));
      expect(allText(refusal.body)).toMatch(/lookup-only mode/);
      expect(h.slack.calls.slice(from).filter((c) => c.method === 'views.open')).toHaveLength(0);
    } finally {
      await h.settings({ containment_enabled: true });
    }
  });
});

describe('shortcuts are rate-limited per person, as commands are', () => {
  it('answers the shortcut past the per-minute rate with when to try again, and looks nothing up', async () => {
    await h.grant('analyst', 'U0SHORTFAST');
    const m = h.slack.addMessage({ channel: CHANNEL, user: 'U0NDRBOT01', text: 'sc-web-01' });
    const from = h.slack.responses.length;
    for (let i = 0; i <= COMMANDS_PER_MINUTE; i++) {
      await h.signer.messageShortcut({
        userId: 'U0SHORTFAST',
        callbackId: ShortcutId.lookupMessage,
        channelId: CHANNEL,
        messageTs: m.ts,
      });
    }
    const slow = await until(
      async () =>
        h.slack.responses.slice(from).find((r) => /faster than hostlock takes them/.test(allText(r.body))) ??
        null,
      'the rate refusal',
    );
    expect(allText(slow.body)).toMatch(/Try again in \d+ s/);
  });
});

describe('forged shortcut payloads', () => {
  it('a signed message_action with a callback_id hostlock does not listen for is refused before any listener, looking nothing up', async () => {
    const m = h.slack.addMessage({ channel: CHANNEL, user: 'U0NDRBOT01', text: 'sc-web-01' });
    const from = h.slack.responses.length;
    const before = h.logs.filter((l) => l.includes('unknown_shortcut')).length;
    const ack = await h.signer.messageShortcut({
      userId: ANALYST,
      callbackId: 'hostlock.lock_everything',
      channelId: CHANNEL,
      messageTs: m.ts,
    });
    expect(ack.status).toBe(200);
    await until(
      async () => (h.logs.filter((l) => l.includes('unknown_shortcut')).length > before ? true : null),
      'the refusal logged',
    );
    expect(h.slack.responses.slice(from).some((r) => allText(r.body).includes(web.id))).toBe(false);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { recordSettingsChange } from '../../src/core/settings/record-settings-change.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { enqueueEvents } from '../../src/db/repos/outbox.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import type { SlackCall } from '../fakes/slack-peer.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';

const ALICE = 'U0ALICE001';
const BOB = 'U0BOB00001';
const ALERTS = 'C0ALERTS01';

let h: Harness;

const alerts = (): SlackCall[] =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ALERTS && c.status === 200);

async function row(id: string): Promise<Lockdown> {
  const l = await lockdownStore(h.db.db).get(id);
  if (!l) {
    throw new Error(`no lockdown ${id}`);
  }
  return l;
}

async function untilState(id: string, state: string): Promise<Lockdown> {
  return until(async () => ((await row(id)).state === state ? row(id) : null), `${id} to become ${state}`);
}

async function pendingRows(): Promise<number> {
  const [r] = await h.db.sql<
    { n: number }[]
  >`select count(*)::int as n from outbox where delivered_at is null`;
  return r?.n ?? 0;
}

function event(id: string, extra: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    id,
    name: 'lockdown.extended',
    at: new Date(),
    host: { name: 'ws-07.contoso.com', machineId: 'm-outbox-07' },
    actor: `slack:${ALICE}`,
    outcome: 'ok',
    ...extra,
  };
}

beforeAll(async () => {
  h = await bootHarness({ outbox: { retryBaseMs: 100, pollMs: 100 } });
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  h.slack.addChannel({ id: ALERTS, name: 'sec-alerts', isMember: true });
  await h.settings({ approver_channel: APPROVER_CHANNEL, alert_channels: [ALERTS], approval_required: true });
});
afterAll(() => h.close());
beforeEach(async () => {
  await until(async () => (await pendingRows()) === 0, 'the outbox to be empty before the test');
  h.slack.reset();
});

describe('a lockdown told in the alert channel', () => {
  it('sends requested, approved, locked and released once each, in order, with untrusted text escaped', async () => {
    const m = h.mde.machine({ computerDnsName: 'alert-01.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    const hostile = '<!channel> *pwn*\noutcome `ok` <https://evil.example|click>';
    await h.slash(`lock alert-01 2h ${hostile}`, { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /Lockdown `lck_/.test(allText(p.body)));
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const l = await row(id);
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(l.id),
      value: l.id,
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    });
    await until(async () => (await row(l.id)).mdeActionId, 'the isolate call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await untilState(l.id, 'active');
    await h.slash(`unlock alert-01 done`, { as: ALICE });
    await until(async () => (await row(l.id)).mdeReleaseActionId, 'the release call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await untilState(l.id, 'released');

    const texts = (await until(async () => (alerts().length >= 4 ? alerts() : null), 'four alerts')).map(
      (c) => String(c.args.text),
    );
    expect(texts.map((t) => /^\*:[a-z_]+: ([^*]+)\*/.exec(t)?.[1])).toEqual([
      'Lockdown requested',
      'Lockdown approved',
      'Host isolated',
      'Host released',
    ]);
    expect(texts[0]).toContain('`alert-01.contoso.com`');
    expect(texts[0]).toContain(`by <@${ALICE}>`);
    expect(texts[1]).toContain(`by <@${BOB}>`);
    expect(texts[2]).toMatch(/until <!date\^\d+\^/);
    for (const t of texts) {
      expect(t).not.toMatch(/<!channel>|<https:\/\/evil/);
      expect(t).toContain('&lt;!channel&gt; *pwn* outcome `ok` &lt;https://evil.example|click&gt;');
      // the reason's line break is folded: it cannot pose as the ids line
      expect(t.split('\n').filter((line) => line.startsWith('outcome'))).toHaveLength(1);
    }
    // Slack has the fourth message a moment before its row is marked delivered: wait for the mark.
    const rows = await until(async () => {
      const r = await h.db.sql<{ event_id: string; event: string; delivered: boolean }[]>`
        select event_id, event, delivered_at is not null as delivered from outbox
        where payload->'lockdown'->>'id' = ${l.id} and sink not like 'thread:%' order by id`;
      return r.length === 4 && r.every((x) => x.delivered) ? r : null;
    }, 'four rows marked delivered');
    // the thread's posts went through the outbox too, in order, each delivered (issue #15, item 7)
    const thread = await until(async () => {
      const r = await h.db.sql<{ event: string; delivered: boolean }[]>`
        select event, delivered_at is not null as delivered from outbox where sink = ${`thread:${l.id}`} order by id`;
      return r.length >= 3 && r.every((x) => x.delivered) ? r : null;
    }, 'the thread posts delivered');
    expect(thread.map((r) => r.event)).toEqual(['lockdown.approved', 'lockdown.locked', 'lockdown.released']);
    expect(rows.map((r) => r.event)).toEqual([
      'lockdown.requested',
      'lockdown.approved',
      'lockdown.locked',
      'lockdown.released',
    ]);
    expect(rows.every((r) => r.delivered)).toBe(true);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(4);
    for (const [i, t] of texts.entries()) {
      expect(t).toContain(`event \`${rows[i]?.event_id}\``);
    }
  });
});

describe('events commit with their change', () => {
  it('a change rolled back, or lost to a concurrent change, queues nothing', async () => {
    const m = h.mde.machine({ computerDnsName: 'tx-01.contoso.com' });
    h.mde.addMachines([m]);
    await h.slash('lock tx-01 1h check', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /Lockdown `lck_/.test(allText(p.body)));
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const count = async () => {
      const [r] = await h.db.sql<{ n: number }[]>`
        select count(*)::int as n from outbox where payload->'lockdown'->>'id' = ${id}`;
      return r?.n;
    };
    expect(await count()).toBe(1); // requested

    await expect(
      h.db.db.transaction(async (tx) => {
        await lockdownStore(tx).transition(
          id,
          'deny',
          { approvedBy: `slack:${BOB}` },
          { actor: `slack:${BOB}` },
        );
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await count()).toBe(1);
    expect((await row(id)).state).toBe('pending_approval');

    const lost = await lockdownStore(h.db.db).transition(id, 'released', {}, { actor: `slack:${BOB}` });
    expect(lost).toBeNull();
    expect(await count()).toBe(1);
  });
});

describe('a sink that fails', () => {
  it('waits out Slack’s Retry-After, then delivers; nothing is dropped', async () => {
    h.slack.fail('chat.postMessage', { retryAfterSeconds: 1, times: 1 });
    await h.db.db.transaction((tx) => enqueueEvents(tx, [event('evt_ratelimit01')]));
    const delivered = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.status === 200 && String(c.args.text).includes('evt_ratelimit01'),
      5_000,
    );
    const limited = h.slack.callsTo('chat.postMessage').find((c) => c.status === 429);
    expect(limited).toBeDefined();
    expect(delivered.at - (limited?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    const r = await until(async () => {
      const [x] = await h.db.sql<{ attempts: number }[]>`
        select attempts from outbox where event_id = 'evt_ratelimit01' and delivered_at is not null`;
      return x;
    }, 'the row to be marked delivered');
    expect(r.attempts).toBe(2);
  });

  it('keeps the order of a sink across failures', async () => {
    h.slack.fail('chat.postMessage', { error: 'internal_error', status: 500, times: 3 });
    const ids = Array.from({ length: 6 }, (_, i) => `evt_order0${i}`);
    await h.db.db.transaction((tx) =>
      enqueueEvents(
        tx,
        ids.map((id) => event(id)),
      ),
    );
    await until(async () => (await pendingRows()) === 0, 'all six delivered', 10_000);
    const seen = h.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.status === 200)
      .map((c) => /evt_order0\d/.exec(String(c.args.text))?.[0]);
    expect(seen).toEqual(ids);
  });

  it('reports rows undelivered for too long in /readyz and the alert channel, once', async () => {
    const sink = 'syslog:tcp://127.0.0.1:9 json'; // discard port: nothing listens
    await h.db.sql`
      insert into outbox (event_id, event, sink, payload, attempts, next_attempt_at, created_at, last_error)
      values ('evt_stale001', 'lockdown.locked', ${sink}, ${JSON.stringify(event('evt_stale001'))}::jsonb,
              40, now() + interval '1 hour', now() - interval '25 hours', 'connect failed: ECONNREFUSED')`;
    await h.app.outbox.runOnce();
    const report = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALERTS && /could not deliver 1 notification/.test(String(c.args.text)),
    );
    expect(String(report.args.text)).toContain('ECONNREFUSED');
    const ready = (await (await fetch(`${h.app.opsUrl}/readyz`)).json()) as {
      checks: { notifications: { ok: boolean; stale: Record<string, number>; pending: number } };
    };
    expect(ready.checks.notifications.ok).toBe(false);
    expect(ready.checks.notifications.stale[sink]).toBe(1);
    await h.app.outbox.runOnce();
    expect(alerts().filter((c) => /could not deliver/.test(String(c.args.text)))).toHaveLength(1);
    await h.db.sql`delete from outbox where event_id = 'evt_stale001'`;
  });

  it('gives up the rows of a sink an admin removed, and says how many in the audit', async () => {
    const sink = 'syslog:tcp://127.0.0.1:9 cef';
    await h.db.sql`
      insert into outbox (event_id, event, sink, payload, next_attempt_at)
      values ('evt_removed01', 'lockdown.locked', ${sink}, ${JSON.stringify(event('evt_removed01'))}::jsonb,
              now() + interval '1 hour')`;
    await h.app.store.transaction(async (tx) => {
      const { version } = await tx.settings.readVersioned();
      await tx.settings.saveIfVersion({ syslog_targets: [] }, `slack:${ALICE}`, version);
      await recordSettingsChange(tx, {
        actor: `slack:${ALICE}`,
        targetId: 'settings',
        summary: 'changed: syslog_targets',
        details: { fields: ['syslog_targets'] },
        at: new Date(),
      });
    });
    const [r] = await h.db.sql<{ delivered: boolean; last_error: string }[]>`
      select delivered_at is not null as delivered, last_error from outbox where event_id = 'evt_removed01'`;
    expect(r).toEqual({
      delivered: true,
      last_error: 'not delivered: the sink was removed from the settings',
    });
    const [a] = await h.db.sql<{ details: { undeliveredToRemovedSinks?: number } }[]>`
      select details from audit_events where action = 'settings.changed' order by id desc limit 1`;
    expect(a?.details.undeliveredToRemovedSinks).toBe(1);
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALERTS && /Settings changed/.test(String(c.args.text)),
    );
  });
});

describe('isolation seen outside hostlock', () => {
  it('is told once when the sync sees a host isolated in the portal, and once when it is released', async () => {
    const m = h.mde.machine({ computerDnsName: 'portal-iso-01.contoso.com' });
    h.mde.addMachines([m]);
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    h.mde.addAction({ machineId: m.id, type: 'Isolate', status: 'Succeeded', requestor: 'soc@contoso.com' });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    expect((await h.app.hostsSync.run()).status).toBe('ok'); // nothing new: no second event
    const isolated = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALERTS && /isolated outside hostlock/.test(String(c.args.text)),
    );
    expect(String(isolated.args.text)).toContain('`portal-iso-01.contoso.com`');
    h.mde.addAction({
      machineId: m.id,
      type: 'Unisolate',
      status: 'Succeeded',
      requestor: 'soc@contoso.com',
    });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.channel === ALERTS && /released outside hostlock/.test(String(c.args.text)),
    );
    const [r] = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from outbox where payload->'host'->>'machineId' = ${m.id}`;
    expect(r?.n).toBe(2);
  });

  it('tells a release outside hostlock that Defender took a while to finish, once', async () => {
    const m = h.mde.machine({ computerDnsName: 'portal-iso-02.contoso.com' });
    h.mde.addMachines([m]);
    h.mde.addAction({ machineId: m.id, type: 'Isolate', status: 'Succeeded', requestor: 'soc@contoso.com' });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    h.mde.addAction({ machineId: m.id, type: 'Unisolate', status: 'Pending', requestor: 'soc@contoso.com' });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const [mid] = await h.db.sql<
      { s: string }[]
    >`select isolation_state as s from hosts where machine_id = ${m.id}`;
    expect(mid?.s).toBe('releasing');
    h.mde.advanceActions();
    h.mde.advanceActions();
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const rows = await h.db.sql<{ event: string }[]>`
      select distinct event_id, event from outbox where payload->'host'->>'machineId' = ${m.id} order by event`;
    expect(rows.map((x) => x.event)).toEqual(['host.isolated_externally', 'host.released_externally']);
  });
});

describe('a lockdown’s thread through the outbox (issue #15, item 7)', () => {
  it('keeps the thread’s posts while Slack fails, in order, once each; the root shows the new end after an extension', async () => {
    await h.settings({ approval_required: false });
    try {
      const m = h.mde.machine({ computerDnsName: 'thread-01.contoso.com', osPlatform: 'Windows11' });
      h.mde.addMachines([m]);
      await h.slash('lock thread-01 2h', { as: ALICE });
      const answer = await h.slack.waitForResponse(
        (p) => /thread-01/.test(allText(p.body)) && /lck_/.test(allText(p.body)),
      );
      const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
      const l = await until(async () => ((await row(id)).approvalTs ? row(id) : null), 'the root message');
      // Slack is down for the next posts: the isolation's thread post must wait, not vanish
      h.slack.fail('chat.postMessage', { error: 'internal_error', status: 500, times: 4 });
      await until(async () => (await row(id)).mdeActionId, 'the isolate call');
      h.mde.advanceActions();
      h.mde.advanceActions();
      await untilState(id, 'active');
      const thread = () =>
        h.slack
          .callsTo('chat.postMessage')
          .filter((c) => c.status === 200 && c.args.thread_ts === l.approvalTs)
          .map((c) => String(c.args.text));
      await until(
        async () => (thread().some((t) => /is isolated/.test(t)) ? true : null),
        'the isolated post',
        10_000,
      );

      await h.signer.blockAction({
        userId: BOB,
        actionId: ActionId.lockdownExtend,
        blockId: lockdownBlockId(id),
        selectedOption: '4h',
        channelId: l.approvalChannel ?? '',
        messageTs: l.approvalTs ?? '',
      });
      const extended = await until(async () => {
        const x = await row(id);
        return x.expiresAt && l.expiresAt === null && thread().some((t) => /extended/i.test(t)) ? x : null;
      }, 'the extension post');
      // the root message now shows the new end
      const end = Math.floor((extended.expiresAt?.getTime() ?? 0) / 1000);
      await until(async () => {
        const root = h.slack.findMessage(l.approvalChannel ?? '', l.approvalTs ?? '');
        return JSON.stringify(root?.blocks ?? []).includes(`<!date^${end}^`) ? true : null;
      }, 'the root with the new end');

      const posts = thread();
      const order = ['Approved', 'is isolated', 'Extended'].map((word) =>
        posts.findIndex((t) => t.includes(word)),
      );
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(posts.filter((t) => /is isolated/.test(t))).toHaveLength(1);
      const [undelivered] = await h.db.sql<{ n: number }[]>`
        select count(*)::int as n from outbox where sink = ${`thread:${id}`} and delivered_at is null`;
      expect(undelivered?.n).toBe(0);
    } finally {
      await h.settings({ approval_required: true });
    }
  });
});

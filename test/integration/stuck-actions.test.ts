import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import {
  APPROVER_CHANNEL,
  allText,
  bootHarness,
  type Harness,
  lockdownRow,
  until,
} from '../helpers/harness.js';

// Issue #15, item 6: an isolation or release Defender keeps Pending past the limit (10 min in
// production; an hour in the harness, so the test moves the action's creation time back) is an
// alert, not just a thread note: `lockdown.stuck` reaches the alert channel and the outbox (syslog),
// and the thread mentions the requester and the approver — once.

const ALICE = 'U0STKALICE';
const BOB = 'U0STKBOB01';
const ALERTS = 'C0STKALRTS';
let h: Harness;

const row = (id: string): Promise<Lockdown> => lockdownRow(h, id);

beforeAll(async () => {
  h = await bootHarness();
  h.slack.addChannel({ id: ALERTS, name: 'sec-alerts', isMember: true });
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  await h.settings({ approval_required: true, approver_channel: APPROVER_CHANNEL, alert_channels: [ALERTS] });
});
afterAll(() => h.close());

/** Defender's action has been Pending for 61 minutes, and hostlock looks now. */
async function agesPastTheLimit(l: Lockdown, actionId: string) {
  const action = h.mde.actions.find((a) => a.id === actionId);
  if (!action) {
    throw new Error('no such action');
  }
  action.creationDateTimeUtc = new Date(Date.now() - 61 * 60_000).toISOString();
  await h.db.sql`update lockdowns set next_check_at = now() where id = ${l.id}`;
  await h.app.lockdownJobs.sweep();
}

const stuckAlerts = () =>
  h.slack
    .callsTo('chat.postMessage')
    .filter((c) => c.args.channel === ALERTS && /Defender action stuck/.test(String(c.args.text)));

describe('Defender actions stuck past the limit', () => {
  it('an isolation: alert, syslog outbox row, and a thread mention of requester and approver, once', async () => {
    const m = h.mde.machine({ computerDnsName: 'offline-09.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([m]);
    await h.slash('lock offline-09 4h', { as: ALICE });
    const answer = await h.slack.waitForResponse(
      (p) => /Lockdown `lck_/.test(allText(p.body)) && /offline-09/.test(allText(p.body)),
    );
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const pending = await until(
      async () => ((await row(id)).approvalTs ? row(id) : null),
      'the approval post',
    );
    await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(id),
      value: id,
      channelId: APPROVER_CHANNEL,
      messageTs: pending.approvalTs ?? '',
    });
    const isolating = await until(
      async () => ((await row(id)).mdeActionId ? row(id) : null),
      'the isolate call',
    );

    await agesPastTheLimit(isolating, isolating.mdeActionId ?? '');
    await until(async () => (stuckAlerts().length === 1 ? true : null), 'the stuck alert');
    const thread = await h.slack.waitForCall(
      'chat.postMessage',
      (c) => c.args.thread_ts === pending.approvalTs && /still has the isolation/.test(String(c.args.text)),
    );
    expect(String(thread.args.text)).toContain(`<@${ALICE}>`);
    expect(String(thread.args.text)).toContain(`<@${BOB}>`);
    const [audit] = await h.db.sql<{ n: number }[]>`
      select count(*)::int as n from outbox where event = 'lockdown.stuck' and payload->'lockdown'->>'id' = ${id}`;
    expect(audit?.n).toBeGreaterThanOrEqual(1);

    // a second look finds it still pending: no second alert
    await agesPastTheLimit(await row(id), isolating.mdeActionId ?? '');
    await until(
      async () => ((await row(id)).nextCheckAt?.getTime() ?? 0) > Date.now() || null,
      'the next look scheduled',
    );
    expect(stuckAlerts()).toHaveLength(1);
    expect((await row(id)).state).toBe('isolating');
  });
});

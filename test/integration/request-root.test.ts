import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { createLogger } from '../../src/log.js';
import { slackThreadPoster } from '../../src/slack/announcer.js';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { until } from '../helpers/harness.js';

// Issue #18, item 2 (review): the hosts of a large request send their notes in a burst; the shared
// root is rewritten once at first and once at the end of each burst, from the rows as they are
// then, not once per note (which runs into chat.update's rate limit and can drop the last one).

const CHANNEL = 'C0ROOTREQ1';
let slack: SlackPeer;

beforeAll(async () => {
  slack = await startSlackPeer({ botToken: 'xoxb-root' });
  slack.addChannel({ id: CHANNEL, name: 'approvals', isMember: true });
});
afterAll(() => slack?.close());

function lockdown(i: number, ts: string, state: Lockdown['state']): Lockdown {
  const at = new Date('2026-12-05T08:00:00Z');
  return {
    id: `lck_root${String(i).padStart(4, '0')}`,
    machineId: String(i % 10).repeat(40),
    hostName: `rr-${String(i).padStart(3, '0')}.contoso.com`,
    state,
    durationMinutes: 60,
    reason: 'burst',
    requestedBy: 'slack:U0ALICE001',
    requestedVia: null,
    approvedBy: 'slack:U0BOB00001',
    decidedAt: at,
    source: 'manual',
    mdeActionId: null,
    mdeReleaseActionId: null,
    lockedAt: state === 'active' ? at : null,
    expiresAt: state === 'active' ? new Date(at.getTime() + 3_600_000) : null,
    releasedAt: null,
    releaseReason: null,
    releasedBy: null,
    attempts: 0,
    lastError: null,
    requestChannel: null,
    approvalChannel: CHANNEL,
    approvalTs: ts,
    nextCheckAt: null,
    pendingNotedAt: null,
    escalatedAt: null,
    remindedAt: null,
    breakGlass: false,
    isolationType: 'Full',
    trigger: null,
    ticket: null,
    ticketUrl: null,
    requestId: 'req_rootburst01',
    awaitingConfirmation: false,
    createdAt: at,
    updatedAt: at,
  };
}

describe('the root of a request of several hosts', () => {
  it('is rewritten at most once a window during a burst of its hosts’ notes, and last from the rows as they end', async () => {
    const ts = slack.addMessage({ channel: CHANNEL, text: 'request', user: slack.botUserId }).ts;
    const client = new webApi.WebClient('xoxb-root', {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
    });
    // the rows as the database holds them: each note turns one more host active
    const rows = Array.from({ length: 30 }, (_, i) => lockdown(i, ts, 'isolating'));
    const post = slackThreadPoster(
      client,
      createLogger({ level: 'error' }),
      async () => true,
      async () => rows,
      200,
    );
    const started = Date.now();
    for (let i = 0; i < rows.length; i++) {
      rows[i] = lockdown(i, ts, 'active');
      await post({ name: 'lockdown.locked', lockdown: rows[i] as Lockdown });
    }
    const burstMs = Date.now() - started;
    expect(slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts)).toHaveLength(30);
    const last = await until(
      () =>
        slack
          .callsTo('chat.update')
          .filter((c) => c.args.ts === ts)
          .find((c) => !JSON.stringify(c.args.blocks).includes('isolating')),
      'the rewrite after the burst',
    );
    expect(JSON.stringify(last.args.blocks)).toContain('rr-029.contoso.com');
    const updates = slack.callsTo('chat.update').filter((c) => c.args.ts === ts);
    // the first, then one per window the burst spanned (however slow this machine), never one per note
    expect(updates.length).toBeLessThanOrEqual(2 + Math.ceil(burstMs / 200));
    expect(updates.length).toBeLessThan(30);
  });

  it('a rewrite Slack rate-limits is tried again after its Retry-After, so the root does not stay stale', async () => {
    const ts = slack.addMessage({ channel: CHANNEL, text: 'request', user: slack.botUserId }).ts;
    // as the outbox's client: a 429 is thrown at once, with its Retry-After
    const client = new webApi.WebClient('xoxb-root', {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    const rows = [lockdown(1, ts, 'isolating'), lockdown(2, ts, 'isolating')];
    const post = slackThreadPoster(
      client,
      createLogger({ level: 'error' }),
      async () => true,
      async () => rows,
      100,
    );
    rows[0] = lockdown(1, ts, 'active');
    await post({ name: 'lockdown.locked', lockdown: rows[0] });
    const first = slack.callsTo('chat.update').filter((c) => c.args.ts === ts).length;
    expect(first).toBe(1);
    // the deferred rewrite meets a rate limit
    slack.fail('chat.update', { retryAfterSeconds: 1 });
    rows[1] = lockdown(2, ts, 'active');
    await post({ name: 'lockdown.locked', lockdown: rows[1] });
    const fresh = await until(
      () =>
        slack
          .callsTo('chat.update')
          .filter((c) => c.args.ts === ts && c.response.ok)
          .find((c) => !JSON.stringify(c.args.blocks).includes('isolating')),
      'the rewrite after the rate limit',
      5_000,
    );
    expect(JSON.stringify(fresh.args.blocks)).toContain('rr-002.contoso.com');
    expect(slack.callsTo('chat.update').filter((c) => c.args.ts === ts && !c.response.ok)).toHaveLength(1);
  });
});

import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/log.js';
import { slackEventContext } from '../../src/notify/event-context.js';
import { sourceAddresses } from '../../src/notify/syslog/source-address.js';
import { syslogLineFor } from '../../src/notify/syslog-sink.js';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { until } from '../helpers/harness.js';
import { parseCef, parseJsonLine } from '../helpers/syslog-parse.js';

// What a syslog line says beyond the outbox row (issue #19): the person by name (users.info), a
// link to the lockdown (the thread's permalink, else Defender's page), this instance's address.

const CHANNEL = 'C0APPROVE1';
const MACHINE = 'a'.repeat(40);
const portal = (id: string) => `https://security.microsoft.com/machines/${id}`;
const ID = { hostname: 'hostlock-1', version: '0.1.0' };

let slack: SlackPeer;
let threadTs: string;

beforeAll(async () => {
  slack = await startSlackPeer({ botToken: 'xoxb-ctx' });
  slack.addChannel({ id: CHANNEL, name: 'approvals', isMember: true });
  slack.addUser({ id: 'U0ALICE001', name: 'alice', realName: 'Alice Analyst' });
  slack.addUser({ id: 'U0MALLORY1', name: 'x suser=root cs1=unlock\n"}{', realName: 'Mallory' });
  slack.addUser({ id: 'U0BOB00001', name: 'bob', realName: 'Bob', email: 'bob@contoso.com' });
  slack.addUser({ id: 'U0SPOOF001', name: 'bob@contoso.com', realName: 'hostlock' });
  threadTs = slack.addMessage({ channel: CHANNEL, text: 'approval', user: slack.botUserId }).ts;
});
afterAll(() => slack?.close());
beforeEach(() => slack.reset());

function context() {
  const client = new webApi.WebClient('xoxb-ctx', {
    slackApiUrl: slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
  return slackEventContext({ slack: client, portalUrl: portal, log: createLogger({ level: 'error' }) });
}

function lock(o: Partial<NotificationEvent> = {}, thread = true): NotificationEvent {
  return {
    id: 'evt_ctx00001',
    name: 'lockdown.locked',
    at: new Date('2026-12-05T08:00:00Z'),
    host: { name: 'ws-01', machineId: MACHINE },
    actor: 'slack:U0ALICE001',
    outcome: 'ok',
    lockdown: {
      id: 'lck_ctx1',
      state: 'active',
      durationMinutes: 60,
      reason: 'beaconing',
      expiresAt: new Date('2026-12-05T09:00:00Z'),
      lockedAt: new Date('2026-12-05T08:00:00Z'),
      releaseReason: null,
      ...(thread ? { thread: { channel: CHANNEL, ts: threadTs } } : {}),
    },
    ...o,
  };
}

describe('the context of a syslog line', () => {
  it('names the person (display name with their Slack id) and links the lockdown’s thread; each asked of Slack once', async () => {
    const ctx = context();
    const e = await ctx.enrich(lock());
    expect(e.actorName).toBe('alice (U0ALICE001)');
    expect(e.url).toBe(`https://hostlock-test.slack.com/archives/${CHANNEL}/p${threadTs.replace('.', '')}`);
    await ctx.enrich(lock({ id: 'evt_ctx00002', name: 'lockdown.released' }));
    expect(slack.callsTo('users.info')).toHaveLength(1);
    expect(slack.callsTo('chat.getPermalink')).toHaveLength(1);

    const cef = parseCef(
      (syslogLineFor(e, { protocol: 'tcp', host: 'x', port: 1, format: 'cef' }, ID) ?? '').replace(
        /^.* -: /,
        '',
      ),
    );
    expect(cef.ext).toMatchObject({ suser: 'alice (U0ALICE001)', suid: 'slack:U0ALICE001', cs4: e.url });
  });

  it('uses the e-mail when the workspace gives it; a display name cannot pass for someone else or for hostlock', async () => {
    const ctx = context();
    expect((await ctx.enrich(lock({ actor: 'slack:U0BOB00001' }))).actorName).toBe('bob@contoso.com');
    const spoof = await ctx.enrich(lock({ actor: 'slack:U0SPOOF001' }));
    expect(spoof.actorName).toBe('bob at contoso.com (U0SPOOF001)');
    expect(spoof.actorName).not.toBe('hostlock');
  });

  it('names who approved a lock that hostlock’s engine carried out, not the engine', async () => {
    const e = await context().enrich(lock({ actor: 'system:hostlock', userId: 'slack:U0BOB00001' }));
    expect(e).toMatchObject({ actor: 'slack:U0BOB00001', actorName: 'bob@contoso.com' });
  });

  it('calls hostlock’s own actions hostlock, and links Defender’s page when there is no thread', async () => {
    const e = await context().enrich(lock({ actor: 'system:auto' }, false));
    expect(e.actorName).toBe('hostlock');
    expect(e.url).toBe(portal(MACHINE));
    expect(slack.calls).toHaveLength(0);
  });

  it('does not wait for Slack: when it fails, the line carries the id and Defender’s page', async () => {
    slack.fail('users.info', { error: 'internal_error' });
    slack.fail('chat.getPermalink', { status: 429, retryAfterSeconds: 30 });
    const e = await context().enrich(lock());
    expect(e.actorName).toBeUndefined();
    expect(e.url).toBe(portal(MACHINE));
    const json = parseJsonLine(
      (syslogLineFor(e, { protocol: 'tcp', host: 'x', port: 1, format: 'json' }, ID) ?? '').replace(
        /^.* -: /,
        '',
      ),
    );
    expect(json).toMatchObject({
      user: 'slack:U0ALICE001',
      actor_id: 'slack:U0ALICE001',
      href: portal(MACHINE),
    });
  });

  it('does not wait long for a slow Slack: the line goes out without the answer, which serves the next', async () => {
    slack.fail('users.info', { delayMs: 300 });
    const client = new webApi.WebClient('xoxb-ctx', {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
    });
    const ctx = slackEventContext({
      slack: client,
      portalUrl: portal,
      log: createLogger({ level: 'error' }),
      waitMs: 50,
    });
    expect((await ctx.enrich(lock())).actorName).toBeUndefined();
    await until(
      async () => ((await ctx.enrich(lock())).actorName === 'alice (U0ALICE001)' ? true : null),
      'the late answer, cached',
    );
    expect(slack.callsTo('users.info')).toHaveLength(1);
  });

  it('a display name cannot forge keys or lines: one suser, the real action, the id beside it', async () => {
    const e = await context().enrich(lock({ actor: 'slack:U0MALLORY1' }));
    const line = syslogLineFor(e, { protocol: 'tcp', host: 'x', port: 1, format: 'cef' }, ID) ?? '';
    expect(line).not.toContain('\n');
    const cef = parseCef(line.replace(/^.* -: /, ''));
    expect(cef.keys.filter((k) => k === 'suser')).toHaveLength(1);
    expect(cef.ext.suser).toBe('x suser=root cs1=unlock\n"}{ (U0MALLORY1)');
    expect(cef.ext.cs1).toBe('lock');
    expect(cef.ext.suid).toBe('slack:U0MALLORY1');
    const json = parseJsonLine(
      (syslogLineFor(e, { protocol: 'tcp', host: 'x', port: 1, format: 'json' }, ID) ?? '').replace(
        /^.* -: /,
        '',
      ),
    );
    expect(json).toMatchObject({
      user: 'x suser=root cs1=unlock\n"}{ (U0MALLORY1)',
      action: 'lock',
      actor_id: 'slack:U0MALLORY1',
    });
  });
});

describe('this instance’s address', () => {
  it('is the configured one, else the local end of the route to the receiver', async () => {
    expect(await sourceAddresses({ configured: '192.0.2.7' })({ host: '127.0.0.1', port: 514 })).toBe(
      '192.0.2.7',
    );
    const route = sourceAddresses({});
    expect(await route({ host: '127.0.0.1', port: 514 })).toBe('127.0.0.1');
    expect(await route({ host: 'localhost', port: 6514 })).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(await route({ host: 'no-such-host.invalid', port: 514 })).toBeNull();
  });

  it('fills CEF dvc and JSON headend_addr (Elastic’s observer.ip)', () => {
    const id = { ...ID, dvc: '10.1.2.3' };
    const cef = parseCef(
      (syslogLineFor(lock(), { protocol: 'tcp', host: 'x', port: 1, format: 'cef' }, id) ?? '').replace(
        /^.* -: /,
        '',
      ),
    );
    expect(cef.ext.dvc).toBe('10.1.2.3');
    const json = parseJsonLine(
      (syslogLineFor(lock(), { protocol: 'tcp', host: 'x', port: 1, format: 'json' }, id) ?? '').replace(
        /^.* -: /,
        '',
      ),
    );
    expect(json.headend_addr).toBe('10.1.2.3');
  });
});

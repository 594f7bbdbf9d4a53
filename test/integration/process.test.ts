import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MdePeer, startMdePeer } from '../fakes/mde-peer.js';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { SlackSigner } from '../fakes/slack-signer.js';
import { createTestDatabase } from '../helpers/db.js';
import { type RunningHostlock, spawnHostlock, startHostlock, stopHostlock } from '../helpers/process.js';

// The whole program as an operator runs it: `npm start`, embedded PostgreSQL, the Slack peer.

const BOT_TOKEN = 'xoxb-CANARY-bot-token-0001';
const SIGNING_SECRET = 'SIGNING_CANARY_0123456789abcdef';

let peer: SlackPeer;
let dataDir: string;
const running: RunningHostlock[] = [];
const allOutput: string[] = [];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: peer.apiUrl,
    HOSTLOCK_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

async function start(extra?: Record<string, string>): Promise<RunningHostlock> {
  const h = await startHostlock(env(extra));
  running.push(h);
  return h;
}

beforeAll(async () => {
  peer = await startSlackPeer({ botToken: BOT_TOKEN });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-proc-'));
});

afterAll(async () => {
  for (const h of running) {
    allOutput.push(...h.output);
    if (h.child.exitCode === null && h.child.signalCode === null) {
      await stopHostlock(h, 'SIGKILL');
    }
  }
  await peer.close();
  // kill -9 leaves postgres behind on purpose in one test; the next start stops it, but be tidy.
  const pid = Number(
    (await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0],
  );
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('with no environment exits 1 naming SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, without a stack trace', async () => {
    const h = spawnHostlock({}, { npm: true });
    const { code } = await h.exited;
    const text = h.output.join('\n');
    expect(code).toBe(1);
    expect(text).toMatch(/SLACK_BOT_TOKEN is required/);
    expect(text).toMatch(/SLACK_SIGNING_SECRET is required/);
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('comes up on embedded PostgreSQL, answers health checks and a signed /hostlock help', async () => {
    const h = await start();
    expect(h.logs.some((l) => l.msg === 'db.embedded.started' && l.reused === false)).toBe(true);

    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${h.opsUrl}/readyz`);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; state?: string }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.slack?.ok).toBe(true);
    // Defender is not configured yet: ready all the same (an admin configures it from Slack,
    // through this replica), and the details say so
    expect(ready.status).toBe(200);
    expect(body.checks.defender).toEqual({ ok: false, state: 'not_configured' });

    const slack = new SlackSigner({
      signingSecret: SIGNING_SECRET,
      eventsUrl: `${h.url}/slack/events`,
      peer,
    });
    for (const text of ['help', '', '  HELP ']) {
      const r = await slack.command({ text, userId: 'U0ANALYST1' });
      expect(r.status).toBe(200);
      const reply = r.json() as { response_type: string; text: string };
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.text).toMatch(/\/hostlock help/);
    }

    const unknown = await slack.command({ text: 'frobnicate <!channel>', userId: 'U0ANALYST1' });
    const reply = unknown.json() as { text: string };
    expect(reply.text).toMatch(/Unknown subcommand `frobnicate`/);
    expect(reply.text).toMatch(/\/hostlock help/);

    const control = await slack.command({ text: 'help\u0007', userId: 'U0ANALYST1' });
    expect((control.json() as { text: string }).text).toMatch(/control characters/);
    const long = await slack.command({ text: `help ${'x'.repeat(2100)}`, userId: 'U0ANALYST1' });
    expect((long.json() as { text: string }).text).toMatch(/too long/);
  });

  it('refuses bad signatures and stale or future timestamps with 401', async () => {
    const h = running[running.length - 1] as RunningHostlock;
    const slack = new SlackSigner({
      signingSecret: SIGNING_SECRET,
      eventsUrl: `${h.url}/slack/events`,
      peer,
    });
    const cases = [
      { badSignature: true },
      { wrongSecret: 'not-the-secret' },
      { timestampOffsetSec: -360 },
      { timestampOffsetSec: +360 },
      { omitHeaders: true },
      { flipBodyByte: true },
    ];
    for (const tamper of cases) {
      const r = await slack.command({ text: 'help', userId: 'U0ANALYST1' }, tamper);
      expect(r.status, JSON.stringify(tamper)).toBe(401);
    }
  });

  it('stops cleanly on SIGTERM and reuses its data on the next start', async () => {
    const first = running[running.length - 1] as RunningHostlock;
    const { code } = await stopHostlock(first, 'SIGTERM');
    expect(code).toBe(0);
    expect(first.logs.some((l) => l.msg === 'hostlock.stopped')).toBe(true);

    const second = await start();
    expect(second.logs.some((l) => l.msg === 'db.embedded.started' && l.reused === true)).toBe(true);
    expect(second.logs.some((l) => /generated a new master key/.test(String(l.msg)))).toBe(false);
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
  });

  it('recovers after kill -9 left PostgreSQL running', async () => {
    const victim = running[running.length - 1] as RunningHostlock;
    await stopHostlock(victim, 'SIGKILL');
    const h = await start();
    expect(h.logs.some((l) => l.msg === 'db.embedded.orphan_stopping')).toBe(true);
    expect(h.logs.some((l) => l.msg === 'db.embedded.started' && l.reused === true)).toBe(true);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    await stopHostlock(h, 'SIGTERM');
  });

  it('stays up when Slack is unreachable, and says so in /readyz', async () => {
    const h = await start({ SLACK_API_URL: 'http://127.0.0.1:9/api/' });
    await h.waitForLog((l) => l.msg === 'slack.auth_test_failed');
    const ready = await fetch(`${h.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: { slack: { ok: boolean; error?: string } } };
    expect(body.checks.slack.ok).toBe(false);
    expect(body.checks.slack.error).toMatch(/fetch failed|request error/i);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(h.child.exitCode).toBeNull();
    await stopHostlock(h, 'SIGTERM');
  });

  it('in Socket Mode needs no signing secret, stays up when the socket cannot connect, and says so', async () => {
    const h = await start({ SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: 'xapp-1-A0000APP-CANARY-app-token' });
    const ready = await fetch(`${h.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: { slack: { ok: boolean; error?: string } } };
    expect(body.checks.slack).toMatchObject({ ok: false, error: expect.stringMatching(/Socket Mode/) });
    await peer.waitForCall('apps.connections.open', undefined, 10_000);
    // no Slack endpoint over HTTP in Socket Mode
    expect((await fetch(`${h.url}/slack/events`, { method: 'POST' })).status).toBe(404);
    expect((await stopHostlock(h)).code).toBe(0);
  });

  it('uses DATABASE_URL instead of embedded PostgreSQL when it is set', async () => {
    const db = await createTestDatabase();
    try {
      const h = await start({ DATABASE_URL: db.url, HOSTLOCK_ADMINS: 'U0ADMIN01' });
      expect(h.logs.some((l) => String(l.msg).startsWith('db.embedded'))).toBe(false);
      const [row] = await db.sql<
        { role: string; subject_id: string }[]
      >`select role, subject_id from role_bindings`;
      expect(row).toEqual({ role: 'admin', subject_id: 'U0ADMIN01' });
      const audit = await db.sql`select actor, action from audit_events`;
      expect(audit).toEqual([{ actor: 'system:HOSTLOCK_ADMINS', action: 'role.granted' }]);
      expect((await stopHostlock(h)).code).toBe(0);
    } finally {
      await db.dispose();
    }
  });

  describe('MDE_* bootstrap', () => {
    const TENANT = '3c1d2e4f-0000-4000-8000-00000000aaaa';
    let mde: MdePeer;
    beforeAll(async () => {
      mde = await startMdePeer({ tls: inject('tlsCert') });
      mde.addApp({ tenantId: TENANT, clientId: 'app-ok', secret: 'MDE_CANARY_SECRET_VALUE' });
      mde.addApp({
        tenantId: TENANT,
        clientId: 'app-ro',
        secret: 'MDE_CANARY_SECRET_RO',
        roles: ['Machine.Read.All'],
      });
    });
    afterAll(() => mde.close());

    const mdeEnv = (clientId: string, secret: string, url: string) => ({
      DATABASE_URL: url,
      MDE_API_URL: mde.url,
      MDE_LOGIN_URL: mde.url,
      HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
      HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
      MDE_TENANT_ID: TENANT,
      MDE_CLIENT_ID: clientId,
      MDE_CLIENT_SECRET: secret,
    });

    it('verifies the credentials, stores them sealed, and becomes ready', async () => {
      const db = await createTestDatabase();
      try {
        const h = await start(mdeEnv('app-ok', 'MDE_CANARY_SECRET_VALUE', db.url));
        expect(h.logs.some((l) => l.msg === 'mde.bootstrap_stored')).toBe(true);
        const rows = await db.sql<
          { name: string; sealed: string }[]
        >`select name, sealed from secrets order by name`;
        // the credentials and the endpoint they were verified against (issue #14)
        expect(rows.map((r) => r.name)).toEqual([
          'mde_client_id',
          'mde_client_secret',
          'mde_endpoint',
          'mde_tenant_id',
        ]);
        for (const r of rows) {
          expect(r.sealed).toMatch(/^v1:/);
          expect(r.sealed).not.toContain('CANARY');
          expect(r.sealed).not.toContain(TENANT);
        }
        const ready = await fetch(`${h.opsUrl}/readyz`);
        expect(ready.status).toBe(200);
        expect(((await ready.json()) as { checks: { defender: unknown } }).checks.defender).toEqual({
          ok: true,
          state: 'enabled',
        });
        await stopHostlock(h);
        // a second start finds them stored and does not sign in again
        const before = mde.tokensIssued();
        const again = await start(mdeEnv('app-ok', 'MDE_CANARY_SECRET_VALUE', db.url));
        expect(again.logs.some((l) => l.msg === 'mde.bootstrap_skipped_already_configured')).toBe(true);
        expect(mde.tokensIssued()).toBe(before);
        await stopHostlock(again);
      } finally {
        await db.dispose();
      }
    });

    it.each([
      ['a wrong secret', 'app-ok', 'wrong-value', /mde_sign_in_secret_wrong/, /Value, not its Secret ID/],
      [
        'a missing permission',
        'app-ro',
        'MDE_CANARY_SECRET_RO',
        /mde_missing_permission/,
        /lacks Machine\.Isolate/,
      ],
    ])('stores nothing and says what to fix for %s', async (_, clientId, secret, code, reason) => {
      const db = await createTestDatabase();
      try {
        const h = await start(mdeEnv(clientId, secret, db.url));
        const failed = await h.waitForLog((l) => l.msg === 'mde.bootstrap_failed');
        expect(String(failed.code)).toMatch(code);
        expect(String(failed.reason)).toMatch(reason);
        expect(await db.sql`select name from secrets`).toEqual([]);
        const ready = await fetch(`${h.opsUrl}/readyz`);
        expect(ready.status).toBe(200);
        expect(((await ready.json()) as { checks: { defender: { ok: boolean } } }).checks.defender.ok).toBe(
          false,
        );
        await stopHostlock(h);
      } finally {
        await db.dispose();
      }
    });
  });

  it('never writes the bot token or signing secret to its output', () => {
    const text = [...allOutput, ...running.flatMap((h) => h.output)].join('\n');
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(BOT_TOKEN);
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain(SIGNING_SECRET);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { SlackSigner } from '../fakes/slack-signer.js';
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

    const ready = await fetch(`${h.url}/readyz`);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; state?: string }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.slack?.ok).toBe(true);
    // Defender is not configured yet: not ready, and it says why
    expect(ready.status).toBe(503);
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
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: { slack: { ok: boolean; error?: string } } };
    expect(body.checks.slack.ok).toBe(false);
    expect(body.checks.slack.error).toMatch(/fetch failed|request error/i);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(h.child.exitCode).toBeNull();
    await stopHostlock(h, 'SIGTERM');
  });

  it('never writes the bot token or signing secret to its output', () => {
    const text = [...allOutput, ...running.flatMap((h) => h.output)].join('\n');
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(BOT_TOKEN);
    expect(text).not.toContain('CANARY');
  });
});

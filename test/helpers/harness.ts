import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { pinExclusions } from '../../src/core/lockdown/exclusions.js';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { hostStore } from '../../src/db/repos/hosts.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { secretStore } from '../../src/db/repos/secrets.js';
import { writeSettings } from '../../src/db/repos/settings.js';
import { roleBindings } from '../../src/db/schema.js';
import { type Hostlock, type HostlockOptions, startHostlock } from '../../src/hostlock.js';
import { createLogger } from '../../src/log.js';
import { createAesGcmBox, keyIdOf } from '../../src/secrets/aes-gcm-box.js';
import type { Subcommand } from '../../src/slack/commands/registry.js';
import { type MdePeer, startMdePeer } from '../fakes/mde-peer.js';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { type SignedResponse, SlackSigner } from '../fakes/slack-signer.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const BOT_TOKEN = 'xoxb-CANARY-harness-bot-token';
export const SIGNING_SECRET = 'SIGNING_CANARY_harness_0123456789';
export const MASTER_KEY = Buffer.alloc(32, 42);
export const TENANT = '5e1f0c3a-0000-4000-8000-0000000000aa';
export const CLIENT_ID = '7d2e1b4c-0000-4000-8000-0000000000bb';
export const CLIENT_SECRET = 'MDE_CANARY~harness-secret';
export const APPROVER_CHANNEL = 'C0APPROVE1';

export interface Harness {
  app: Hostlock;
  /** every log line hostlock wrote (JSON), for assertions and secret scans */
  logs: string[];
  db: TestDatabase;
  slack: SlackPeer;
  mde: MdePeer;
  signer: SlackSigner;
  /** `/hostlock <text>` as `as`; returns the ack */
  slash(text: string, o: { as: string; channel?: string }): Promise<SignedResponse>;
  grant(role: string, subjectId: string): Promise<void>;
  /** store Defender credentials as the settings modal would */
  configureDefender(): Promise<void>;
  settings(patch: Record<string, unknown>): Promise<void>;
  /**
   * Sets the exclusion rules and pins them, as saving them from the modal does, to the machines
   * they match after an inventory sync (only pinned machines are exempt).
   */
  exclude(rules: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * hostlock in-process against real PostgreSQL (a database cloned from the template), the Slack
 * peer and the Defender peer: a test reads like the user's action, then asserts on the peers'
 * records and the rows.
 */
export async function bootHarness(
  o: {
    settingsVerifyInlineMs?: number;
    outbox?: HostlockOptions['outbox'];
    apiRatePerMinute?: number;
    /** Defender call budget (default: practically unlimited, so flows never wait on it) */
    defenderBudget?: { perMinute: number; perHour: number; reservedPerMinute?: number };
  } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const slack = await startSlackPeer({ botToken: BOT_TOKEN });
  // Throttling has its own tests (mde-client.test.ts); here the flows must not wait on it.
  const mde = await startMdePeer({
    tls: inject('tlsCert'),
    rateLimit: { perMinute: 100_000, perHour: 1_000_000 },
  });
  mde.addApp({ tenantId: TENANT, clientId: CLIENT_ID, secret: CLIENT_SECRET, appName: 'hostlock' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-harness-'));
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    HOSTLOCK_DATA_DIR: dataDir,
    HOSTLOCK_MASTER_KEY: MASTER_KEY.toString('base64'),
    MDE_API_URL: mde.url,
    MDE_LOGIN_URL: mde.url,
    HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
    HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
    LOG_LEVEL: 'error',
  });
  const logs: string[] = [];
  const app = await startHostlock({
    config,
    databaseUrl: db.url,
    log: createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } }),
    processEvery: '200 milliseconds',
    syncOnStart: false,
    ...(o.settingsVerifyInlineMs ? { settingsVerifyInlineMs: o.settingsVerifyInlineMs } : {}),
    ...(o.outbox ? { outbox: o.outbox } : {}),
    ...(o.apiRatePerMinute ? { apiRatePerMinute: o.apiRatePerMinute } : {}),
    defenderClient: {
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      budget: o.defenderBudget ?? { perMinute: 100_000, perHour: 1_000_000 },
    },
    lockdownTickMs: 100,
    readinessCacheMs: 0,
    lockdownTiming: { trackEveryMs: 100, retryBackoffMs: [100, 200], pendingNoteAfterMs: 60 * 60_000 },
  });
  slack.addChannel({ id: 'C0000CHAN', name: 'hostlock-test', isMember: true });
  slack.addChannel({ id: APPROVER_CHANNEL, name: 'oncall-approvals', isMember: true });
  const signer = new SlackSigner({
    signingSecret: SIGNING_SECRET,
    eventsUrl: `${app.url}/slack/events`,
    peer: slack,
  });
  return {
    app,
    logs,
    db,
    slack,
    mde,
    signer,
    slash: (text, o) =>
      signer.command({ text, userId: o.as, ...(o.channel ? { channelId: o.channel } : {}) }),
    async grant(role, subjectId) {
      await db.db
        .insert(roleBindings)
        .values({
          role,
          subjectType: subjectId.startsWith('S') ? 'usergroup' : 'user',
          subjectId,
          grantedBy: 'test',
        })
        .onConflictDoNothing();
      app.caches.invalidate();
    },
    async configureDefender() {
      const keyId = keyIdOf(MASTER_KEY);
      await secretStore(db.db, createAesGcmBox(MASTER_KEY, keyId), keyId).putAll(
        { mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, mde_client_secret: CLIENT_SECRET },
        'test',
      );
    },
    async settings(patch) {
      await writeSettings(db.db, patch, 'test');
      app.caches.invalidate();
    },
    async exclude(rules) {
      await app.hostsSync.run();
      const pins = pinExclusions(await hostStore(db.db).identities(), rules);
      await writeSettings(db.db, { auto_exclusions: rules, auto_exclusion_pins: pins }, 'test');
      app.caches.invalidate();
    },
    async close() {
      await app.stop();
      await Promise.all([slack.close(), mde.close()]);
      await db.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Another hostlock process on the harness's database, Slack peer and Defender peer (a second
 * replica, or a restart with other environment variables): `env` overrides the defaults, `lines`
 * collects its log. The caller stops it.
 */
export async function startAnother(
  h: Harness,
  o: { env?: Record<string, string>; lines?: string[]; options?: Partial<HostlockOptions> } = {},
): Promise<Hostlock> {
  return startHostlock({
    config: loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: h.slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      HOSTLOCK_DATA_DIR: os.tmpdir(),
      HOSTLOCK_MASTER_KEY: MASTER_KEY.toString('base64'),
      MDE_API_URL: h.mde.url,
      MDE_LOGIN_URL: h.mde.url,
      HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
      HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
      ...o.env,
    }),
    databaseUrl: h.db.url,
    log: createLogger({
      level: 'info',
      destination: { write: (line: string) => void o.lines?.push(line) },
    }),
    syncOnStart: false,
    ...o.options,
  });
}

/** All text in an ack or response: top-level text plus every text inside its blocks. */
export function allText(body: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      out.push(v);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(walk);
    }
  };
  walk(body);
  return out.join('\n');
}

export { until } from './until.js';

/**
 * Runs a subcommand directly (as the `/hostlock` router would) and returns its ephemeral reply's
 * text and blocks; asserts it answered at once, ephemerally.
 */
export async function runSubcommand(
  sub: Subcommand,
  userId: string,
  text: string,
): Promise<{ text: string; fallback: string; blocks: unknown[] }> {
  const rest = text.trim();
  const out = await sub.run({
    userId,
    channelId: 'C1',
    teamId: 'T1',
    args: rest.split(/\s+/).filter(Boolean),
    rest,
  });
  expect(out.followUp).toBeUndefined();
  expect(out.reply.response_type).toBe('ephemeral');
  const blocks: unknown[] = 'blocks' in out.reply && Array.isArray(out.reply.blocks) ? out.reply.blocks : [];
  return { text: allText([out.reply.text, blocks]), fallback: out.reply.text ?? '', blocks };
}

/** The lockdown row `id` as the store reads it; throws when there is none. */
export async function lockdownRow(h: Pick<Harness, 'db'>, id: string): Promise<Lockdown> {
  const l = await lockdownStore(h.db.db).get(id);
  if (!l) {
    throw new Error(`no lockdown ${id}`);
  }
  return l;
}

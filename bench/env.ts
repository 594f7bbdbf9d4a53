import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded.js';
import { secretStore } from '../src/db/repos/secrets.js';
import { roleBindings } from '../src/db/schema.js';
import { type Hostlock, startHostlock } from '../src/hostlock.js';
import { createLogger } from '../src/log.js';
import { createAesGcmBox, keyIdOf } from '../src/secrets/aes-gcm-box.js';
import { createDatabaseOn } from '../test/fakes/relaunch.js';
import { type SlackPeer, startSlackPeer } from '../test/fakes/slack-peer.js';
import { type DefenderPeerProcess, MDE_APP, startDefenderPeerProcess } from './defender-peer.js';

const BOT_TOKEN = 'xoxb-bench-bot-token';
export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const MASTER_KEY = Buffer.alloc(32, 7);
/** The Slack user the bench types commands as; granted `analyst` (lockdown:view). */
export const ANALYST = 'U0BENCHANA';
/**
 * The ack benchmark's people: each may send 30 commands a minute (the per-user rate limit, issue
 * #14), so the load is spread over many, as Slack's own traffic is.
 */
export const ANALYSTS: readonly string[] = Array.from(
  { length: 200 },
  (_, i) => `U0BENCH${String(i).padStart(3, '0')}`,
);

/** Everything a bench figure needs: hostlock in this process, its peers and its database. */
export interface BenchEnv {
  hostlock: Hostlock;
  mde: DefenderPeerProcess;
  slack: SlackPeer;
  /** the environment a second hostlock process needs to join this one (same database and peers) */
  processEnv: Record<string, string>;
  /** creates an empty database on the bench's PostgreSQL (beside hostlock's) and returns its URL */
  newDatabase(name: string): Promise<string>;
  /** stops hostlock, the peers and PostgreSQL, in that order */
  close(): Promise<void>;
}

/**
 * The bench's equivalent of test/helpers/harness.ts, without vitest: embedded PostgreSQL in
 * `dir`, the Defender peer (its own process) with `machines` hosts, the Slack peer, and hostlock
 * started with `syncOnStart: false`, Defender credentials stored and an analyst granted.
 * The caller's process must trust `cert` (NODE_EXTRA_CA_CERTS) before it starts.
 */
export async function bootBench(o: {
  dir: string;
  cert: { certPath: string; keyPath: string };
  machines: number;
}): Promise<BenchEnv> {
  const cleanup: Array<() => Promise<void>> = [];
  // A second call (Ctrl-C during a measurement, then the caller's finally) waits for the first.
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const step of cleanup.splice(0).reverse()) {
        await step().catch((e: unknown) => console.error('bench: cleanup step failed:', e));
      }
    })();
    return closing;
  };
  try {
    const quiet = { info: () => {}, warn: () => {} };
    const pg: EmbeddedDatabase = await startEmbeddedDatabase({
      dir: path.join(o.dir, 'pg'),
      settings: { fsync: 'off', synchronous_commit: 'off' },
      log: quiet,
    });
    cleanup.push(() => pg.stop());
    const databaseUrl = await createDatabaseOn(pg.url, 'hostlock_bench');

    const mde = await startDefenderPeerProcess({ machines: o.machines, ...o.cert });
    cleanup.push(() => mde.close());
    const slack = await startSlackPeer({ botToken: BOT_TOKEN });
    cleanup.push(() => slack.close());

    const hostlockEnv: Record<string, string> = {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      HOSTLOCK_DATA_DIR: path.join(o.dir, 'data'),
      HOSTLOCK_MASTER_KEY: MASTER_KEY.toString('base64'),
      MDE_API_URL: mde.url,
      MDE_LOGIN_URL: mde.url,
      HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
      HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
      LOG_LEVEL: 'error',
    };
    const config = loadConfig(hostlockEnv);
    const hostlock = await startHostlock({
      config,
      databaseUrl,
      log: createLogger({ level: 'error' }),
      syncOnStart: false,
    });
    cleanup.push(() => hostlock.stop());

    const { db } = hostlock.database;
    const keyId = keyIdOf(MASTER_KEY);
    await secretStore(db, createAesGcmBox(MASTER_KEY, keyId), keyId).putAll(
      { mde_tenant_id: MDE_APP.tenantId, mde_client_id: MDE_APP.clientId, mde_client_secret: MDE_APP.secret },
      'bench',
    );
    await db.insert(roleBindings).values(
      [ANALYST, ...ANALYSTS].map((subjectId) => ({
        role: 'analyst',
        subjectType: 'user',
        subjectId,
        grantedBy: 'bench',
      })),
    );
    hostlock.caches.invalidate();
    return {
      hostlock,
      mde,
      slack,
      processEnv: { ...hostlockEnv, DATABASE_URL: databaseUrl },
      newDatabase: (name) => createDatabaseOn(pg.url, name),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

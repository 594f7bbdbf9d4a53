import path from 'node:path';
import { createHttpServer, type Readiness } from './api/server.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { bootstrapAdmins } from './db/bootstrap.js';
import { openDatabase } from './db/client.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded.js';
import { runMigrations } from './db/migrate.js';
import { appendAudit } from './db/repos/audit.js';
import { defenderReadiness } from './db/repos/defender-state.js';
import { secretStore } from './db/repos/secrets.js';
import { createScheduler } from './jobs/scheduler.js';
import { createLogger, type Logger } from './log.js';
import { bootstrapDefenderFromEnv } from './mde/bootstrap.js';
import { createAesGcmBox, keyIdOf } from './secrets/aes-gcm-box.js';
import { loadMasterKey } from './secrets/master-key.js';
import { createSlack, SLACK_EVENTS_PATH } from './slack/app.js';

/** How long SIGTERM waits for running jobs before leaving them to another worker. */
const DRAIN_TIMEOUT_MS = 25_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger({ level: config.logLevel });
  const cleanup: Array<() => Promise<void>> = [];
  let shuttingDown = false;

  const shutdown = async (signal: string, code = 0) => {
    if (shuttingDown) {
      log.warn({ signal }, 'hostlock.forced_exit');
      process.exit(1);
    }
    shuttingDown = true;
    log.info({ signal }, 'hostlock.stopping');
    for (const step of cleanup.reverse()) {
      await step().catch((e: unknown) => log.error({ err: e }, 'hostlock.stop_step_failed'));
    }
    log.info({}, 'hostlock.stopped');
    // Agenda leaves an unref-less watchdog timer behind (stack.md §6): exit explicitly.
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void shutdown(signal));
  }

  try {
    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedDatabase({ dir: path.join(config.dataDir, 'pg'), log });
      cleanup.push(() => embedded?.stop() ?? Promise.resolve());
      databaseUrl = embedded.url;
    }
    await runMigrations(databaseUrl);
    const database = openDatabase(databaseUrl);
    cleanup.push(() => database.close());

    const master = await loadMasterKey({
      masterKeyBase64: config.masterKeyBase64,
      dataDir: config.dataDir,
      warn: (msg) => log.warn({}, msg),
    });
    const keyId = keyIdOf(master.key);
    const secrets = secretStore(database.db, createAesGcmBox(master.key, keyId), keyId);

    await bootstrapAdmins(database.db, config.admins, log);
    const bootstrap = config.mde.bootstrap;
    if (bootstrap) {
      await bootstrapDefenderFromEnv({
        credentials: bootstrap,
        apiUrl: config.mde.apiUrl,
        loginUrl: config.mde.loginUrl,
        isStored: () => secrets.has('mde_client_secret'),
        store: async (values) => {
          await database.db.transaction(async (tx) => {
            await secrets.putAll(values, 'system:env', tx);
            await appendAudit(tx, {
              actor: 'system:env',
              action: 'settings.changed',
              targetType: 'settings',
              targetId: 'defender',
              outcome: 'ok',
              details: { fields: Object.keys(values), via: 'MDE_* environment' },
            });
          });
        },
        log: log.child({ component: 'mde' }),
      });
    }

    const scheduler = createScheduler({ databaseUrl, log: log.child({ component: 'jobs' }) });
    await scheduler.start();
    cleanup.push(async () => void (await scheduler.drain(DRAIN_TIMEOUT_MS)));

    const slack = createSlack({ config: config.slack, log });
    const readiness = async (): Promise<Readiness> => {
      const db = await database.ping();
      const s = slack.status();
      const defender = db ? await defenderReadiness(database.db) : { ok: false, state: 'unknown' };
      return { ready: db && s.ok && defender.ok, checks: { database: { ok: db }, slack: s, defender } };
    };
    const server = createHttpServer({
      log,
      readiness,
      slackEvents: slack.handleEvents ? { path: SLACK_EVENTS_PATH, handle: slack.handleEvents } : undefined,
    });
    await listen(server, config.http, log);
    cleanup.push(() => slack.stop());
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    await slack.start();
    log.info({ mode: config.slack.appToken ? 'socket' : 'http' }, 'hostlock.started');
  } catch (e) {
    log.fatal({ err: e }, 'hostlock.start_failed');
    await shutdown('start_failed', 1);
  }
}

function listen(server: ReturnType<typeof createHttpServer>, at: Config['http'], log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      const addr = server.address();
      log.info(
        { port: typeof addr === 'object' && addr ? addr.port : at.port, host: at.host },
        'http.listening',
      );
      resolve();
    });
  });
}

await main();

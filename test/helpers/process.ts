import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface LogLine {
  msg?: string;
  level?: string;
  [k: string]: unknown;
}

export interface RunningHostlock {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** raw stdout + stderr, for diagnostics and secret scans */
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves with the first log line matching, or rejects after `timeoutMs` with the output so far */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  url: string;
  /** the operators' listener (metrics, readiness details) */
  opsUrl: string;
}

/**
 * Runs hostlock as a real process, exactly as `npm start` does (node --import tsx src/main.ts),
 * with only the variables given (plus PATH/HOME and the test CA). Waits on its log lines, never on
 * sleeps.
 */
export function spawnHostlock(
  env: Record<string, string>,
  opts: {
    npm?: boolean /** a production install: `node dist/main.js` in this directory */;
    built?: string;
  } = {},
): RunningHostlock {
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
    ...env,
  };
  const child = opts.built
    ? spawn(process.execPath, ['dist/main.js'], {
        cwd: opts.built,
        env: fullEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : opts.npm
      ? spawn('npm', ['start', '--silent'], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
          cwd: ROOT,
          env: fullEnv,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  const logs: LogLine[] = [];
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    output.push(line);
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object') {
        logs.push(parsed as LogLine);
      }
    } catch {
      // not a log line (npm banner, config error text)
    }
    for (const w of waiters) {
      w();
    }
  };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', onLine);
  }
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', onLine);
  }
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      for (const w of waiters) {
        w();
      }
      resolve({ code, signal });
    });
  });

  const running: RunningHostlock = {
    child,
    logs,
    output,
    exited,
    url: '',
    opsUrl: '',
    waitForLog(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(match);
          if (found) {
            done();
            resolve(found);
          } else if (exitedFlag) {
            done();
            reject(new Error(`hostlock exited before the expected log line. Output:\n${output.join('\n')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for a log line. Output:\n${output.join('\n')}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  return running;
}

/** Starts hostlock and waits until it logs `hostlock.started`; fills in `url` from `http.listening`. */
export async function startHostlock(
  env: Record<string, string>,
  opts: { built?: string } = {},
): Promise<RunningHostlock> {
  const h = spawnHostlock({ HOST: '127.0.0.1', PORT: '0', HOSTLOCK_OPS_ADDR: '127.0.0.1:0', ...env }, opts);
  const listening = await h.waitForLog((l) => l.msg === 'http.listening', 60_000);
  h.url = `http://127.0.0.1:${String(listening.port)}`;
  const ops = await h.waitForLog(
    (l) => l.msg === 'ops.listening' || l.msg === 'hostlock.start_failed',
    60_000,
  );
  h.opsUrl = `http://127.0.0.1:${String(ops.port)}`;
  await h.waitForLog((l) => l.msg === 'hostlock.started' || l.msg === 'hostlock.start_failed', 60_000);
  return h;
}

/** Sends `signal` and waits for the exit. */
export async function stopHostlock(h: RunningHostlock, signal: NodeJS.Signals = 'SIGTERM') {
  h.child.kill(signal);
  return h.exited;
}

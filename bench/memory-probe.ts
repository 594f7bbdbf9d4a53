import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * RSS (MB, after gc) of a fresh plain `node` process that imports `modules` (built JavaScript) and
 * starts nothing: how much of hostlock's RSS is the runtime and its code rather than its data.
 */
export async function probeRssMb(modules: readonly string[]): Promise<number> {
  const imports = modules.map((m) => `await import(${JSON.stringify(path.resolve(m))});`).join('');
  const script = `${imports} globalThis.gc(); globalThis.gc(); process.stdout.write(String(process.memoryUsage().rss));`;
  const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const rss = Number(stdout.trim().split('\n').at(-1));
  if (!Number.isFinite(rss)) {
    throw new Error(`the memory probe printed ${JSON.stringify(stdout.slice(-200))}, not a byte count`);
  }
  return rss / 1_048_576;
}

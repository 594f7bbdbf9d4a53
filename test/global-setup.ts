import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase } from '../src/db/embedded.js';
import { runMigrations } from '../src/db/migrate.js';
import { createTestCertificate } from './fakes/tls.js';

export const TEMPLATE_DB = 'hostlock_template';

/**
 * One PostgreSQL for the whole run (trigger.dev's pattern): migrate a template database once; each
 * test file clones it (test/helpers/db.ts). Also makes the throwaway TLS certificate of the
 * Defender peer and trusts it for every worker through NODE_EXTRA_CA_CERTS, which Node reads at
 * process start (workers are forked after this runs).
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-test-'));
  const cert = await createTestCertificate(dir);
  process.env.NODE_EXTRA_CA_CERTS = cert.certPath;

  const quiet = { info: () => {}, warn: () => {} };
  const pg = await startEmbeddedDatabase({
    dir: path.join(dir, 'pg'),
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    log: quiet,
  });
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${TEMPLATE_DB}`);
  const templateUrl = new URL(pg.url);
  templateUrl.pathname = `/${TEMPLATE_DB}`;
  await runMigrations(templateUrl.toString());
  await admin.end();

  project.provide('databaseUrl', pg.url);
  project.provide('tlsCert', { cert: cert.cert, key: cert.key, certPath: cert.certPath });
  return async () => {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    tlsCert: { cert: string; key: string; certPath: string };
  }
}

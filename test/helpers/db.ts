import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { TEMPLATE_DB } from '../global-setup.js';

export interface TestDatabase extends DatabaseHandle {
  readonly url: string;
  /** Closes the pool and drops the database. */
  dispose(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template: files never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('databaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = openDatabase(url.toString(), { max: 5 });
  return {
    ...handle,
    url: url.toString(),
    async dispose() {
      await handle.close();
      const a = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** The PostgreSQL error under drizzle's "Failed query" wrapper, for asserting which rule refused a write. */
export async function pgErrorOf(
  p: PromiseLike<unknown>,
): Promise<{ message: string; code?: string; constraint_name?: string }> {
  try {
    await p;
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause ?? e;
    return cause as { message: string; code?: string; constraint_name?: string };
  }
  throw new Error('expected the database to refuse the statement, but it succeeded');
}

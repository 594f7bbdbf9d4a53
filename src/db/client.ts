import type { PgDatabase } from 'drizzle-orm/pg-core';
import { drizzle, type PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.js';

/** The database or a transaction on it: repositories accept either, so use cases can compose them. */
export type Database = PgDatabase<PostgresJsQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  readonly db: Database;
  readonly sql: postgres.Sql;
  /** Cheap liveness probe for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens a postgres.js pool with drizzle on top. Connections are made lazily. */
export function openDatabase(url: string, opts: { max?: number } = {}): DatabaseHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 60,
    // A frozen process (SIGSTOP, a paused VM) must not hold a lockdown's row lock for ever: its
    // transaction is ended after 5 min idle, well above the longest step (Defender retries ≤ 2 min).
    connection: { application_name: 'hostlock', idle_in_transaction_session_timeout: 300_000 },
  });
  return {
    db: drizzle(sql, { schema }),
    sql,
    async ping() {
      try {
        await sql`select 1`;
        return true;
      } catch {
        return false;
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

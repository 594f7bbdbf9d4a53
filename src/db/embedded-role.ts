import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import postgres from 'postgres';

/** The role hostlock connects as to its embedded PostgreSQL: it owns hostlock's schemas, nothing more. */
export const APP_ROLE = 'hostlock';

async function appPassword(file: string): Promise<string> {
  if (existsSync(file)) {
    return (await readFile(file, 'utf8')).trim();
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

/**
 * Least privilege for the embedded cluster (issue #14, finding 8): hostlock connects as a login
 * role that owns the `public` and `drizzle` schemas of the `postgres` database and every object in
 * them (tables made by an older hostlock as the superuser are handed over), and is no superuser:
 * a flaw in hostlock cannot read files, run programs or touch other databases through PostgreSQL.
 * Idempotent; returns the URL to connect as that role.
 */
export async function ensureAppRole(superUrl: string, passwordFile: string): Promise<string> {
  const password = await appPassword(passwordFile);
  const sql = postgres(superUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.begin(async (tx) => {
      const [role] = await tx`select 1 from pg_roles where rolname = ${APP_ROLE}`;
      const ident = tx(APP_ROLE);
      if (!role) {
        await tx`create role ${ident} login nosuperuser nocreatedb nocreaterole noreplication`;
      }
      await tx.unsafe(
        `alter role ${APP_ROLE} with login nosuperuser password '${password.replace(/'/g, "''")}'`,
      );
      // drizzle's migrator runs CREATE SCHEMA IF NOT EXISTS, which needs CREATE on the database
      await tx`grant connect, create on database postgres to ${ident}`;
      await tx`alter schema public owner to ${ident}`;
      await tx`create schema if not exists drizzle authorization ${ident}`;
      await tx`alter schema drizzle owner to ${ident}`;
      const owned = await tx<{ kind: string; name: string }[]>`
        select case c.relkind when 'S' then 'sequence' when 'v' then 'view' else 'table' end as kind,
               format('%I.%I', n.nspname, c.relname) as name
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'drizzle') and c.relkind in ('r', 'p', 'v', 'S')
          and pg_get_userbyid(c.relowner) <> ${APP_ROLE}
          and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'a'))
        union all
        select 'function', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('public', 'drizzle') and pg_get_userbyid(p.proowner) <> ${APP_ROLE}`;
      for (const o of owned) {
        await tx.unsafe(`alter ${o.kind} ${o.name} owner to ${APP_ROLE}`);
      }
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
  const url = new URL(superUrl);
  url.username = APP_ROLE;
  url.password = password;
  return url.toString();
}

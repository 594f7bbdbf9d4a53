import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/migrate.js';
import { auditEvents, lockdowns } from '../../src/db/schema.js';
import { createTestDatabase, pgErrorOf, type TestDatabase } from '../helpers/db.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.dispose());

const lockdown = (id: string, machineId: string, state: string) => ({
  id,
  machineId,
  hostName: 'web-01',
  state,
  durationMinutes: 60,
  requestedBy: 'slack:U1',
  source: 'manual',
});

describe('database schema', () => {
  it('creates every table of DESIGN §4', async () => {
    const rows = await t.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'api_tokens',
        'audit_events',
        'host_scores',
        'hosts',
        'lockdowns',
        'outbox',
        'role_bindings',
        'secrets',
        'settings',
      ]),
    );
  });

  it('re-running the migrations changes nothing (each recorded once)', async () => {
    await runMigrations(t.url);
    const [{ n }] = (await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    )) as unknown as [{ n: number }];
    const journal = JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] };
    expect(n).toBe(journal.entries.length);
  });

  it('allows only one open lockdown per machine', async () => {
    await t.db.insert(lockdowns).values(lockdown('lck_1', 'm1', 'active'));
    const e = await pgErrorOf(t.db.insert(lockdowns).values(lockdown('lck_2', 'm1', 'pending_approval')));
    expect(e.constraint_name).toBe('lockdowns_one_open_per_machine');
    // closed lockdowns do not count
    await t.db.insert(lockdowns).values(lockdown('lck_3', 'm1', 'released'));
    await t.db.insert(lockdowns).values(lockdown('lck_4', 'm2', 'isolating'));
  });

  it('refuses durations outside the presets', async () => {
    const e = await pgErrorOf(
      t.db.insert(lockdowns).values({ ...lockdown('lck_5', 'm3', 'active'), durationMinutes: 90 }),
    );
    expect(e.constraint_name).toBe('lockdowns_duration_preset');
  });

  it('keeps the audit trail append-only', async () => {
    await t.db.insert(auditEvents).values({ actor: 'slack:U1', action: 'lockdown.requested', outcome: 'ok' });
    expect((await pgErrorOf(t.db.update(auditEvents).set({ actor: 'slack:U2' }))).message).toMatch(
      /append-only/,
    );
    expect((await pgErrorOf(t.db.delete(auditEvents))).message).toMatch(/append-only/);
    expect((await pgErrorOf(t.db.execute(sql`truncate audit_events`))).message).toMatch(/append-only/);
    const rows = await t.db.select().from(auditEvents);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.actor).toBe('slack:U1');
  });
});

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DefenderMachine } from '../src/core/defender.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { hostStore } from '../src/db/repos/hosts.js';
import { PAGE_SIZE } from '../src/mde/client.js';
import { median, timed } from './stats.js';

export interface UpsertFigures {
  rows: number;
  rounds: number;
  /** hostStore.recordListed, one call per Defender page, into an empty `hosts` (median) */
  upsertEmptyMs: number;
  /** the same rows again over the full table, as each later sync of a steady fleet (median) */
  upsertExistingMs: number;
  /** COPY … FROM STDIN of the same rows into an empty copy of `hosts` with the same indexes (median) */
  copyMs: number;
  /**
   * INSERT … SELECT of the same rows, already in a table (nothing to parse), into that empty copy
   * (median): the least a statement that inserts rows (as an upsert must) costs, next to COPY's bulk path
   */
  insertSelectMs: number;
}

const COLUMNS = `machine_id, name, os_platform, os_version, ips, health_status, onboarding_status, risk_score,
  exposure_level, device_value, first_seen, last_seen, tags, is_potential_duplicate, merged_into_machine_id,
  gone_at, synced_at`;

/**
 * hostlock's bulk upsert against the fastest way PostgreSQL loads rows, on the same rows and
 * indexes; each timing includes turning DefenderMachine objects into what goes on the wire.
 * Rounds alternate the two so drift (autovacuum, page cache) hits both alike. Leaves `hosts` full.
 */
export async function measureUpsertVsCopy(
  database: DatabaseHandle,
  rows: readonly DefenderMachine[],
  rounds: number,
): Promise<UpsertFigures> {
  const { sql, db } = database;
  const store = hostStore(db);
  await sql`drop table if exists hosts_copy`;
  await sql`create table hosts_copy (like hosts including all)`;
  const empty: number[] = [];
  const existing: number[] = [];
  const copy: number[] = [];
  const insertSelect: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const syncedAt = new Date();
      await sql`truncate hosts_copy`;
      copy.push((await timed(() => copyRows(database, rows, syncedAt))).ms);
      await sql`drop table if exists hosts_loaded`;
      await sql`create unlogged table hosts_loaded as select * from hosts_copy`;
      await sql`truncate hosts_copy`;
      insertSelect.push(
        (await timed(() => sql`insert into hosts_copy select * from hosts_loaded`.execute())).ms,
      );

      await sql`truncate hosts`;
      // as a sync writes: a fresh listing, one batch per Defender page
      const upsertAll = async () => {
        await store.startListing();
        for (let i = 0; i < rows.length; i += PAGE_SIZE) {
          await store.recordListed(rows.slice(i, i + PAGE_SIZE), syncedAt);
        }
      };
      empty.push((await timed(upsertAll)).ms);
      existing.push((await timed(upsertAll)).ms);
    }
    const [{ count } = { count: '0' }] = await sql<{ count: string }[]>`select count(*) from hosts_copy`;
    if (Number(count) !== rows.length) {
      throw new Error(`COPY loaded ${count} rows of ${rows.length}`);
    }
  } finally {
    await sql`drop table if exists hosts_copy`;
    await sql`drop table if exists hosts_loaded`;
  }
  return {
    rows: rows.length,
    rounds,
    upsertEmptyMs: median(empty),
    upsertExistingMs: median(existing),
    copyMs: median(copy),
    insertSelectMs: median(insertSelect),
  };
}

async function copyRows(database: DatabaseHandle, rows: readonly DefenderMachine[], syncedAt: Date) {
  const at = syncedAt.toISOString();
  function* chunks(): Generator<string> {
    const batch = 1_000;
    for (let i = 0; i < rows.length; i += batch) {
      yield rows
        .slice(i, i + batch)
        .map((m) => copyLine(m, at))
        .join('');
    }
  }
  const sink = await database.sql.unsafe(`copy hosts_copy (${COLUMNS}) from stdin`).writable();
  await pipeline(Readable.from(chunks()), sink);
}

/** One row in COPY's text format: tab-separated, `\N` for null, backslash escapes. */
function copyLine(m: DefenderMachine, syncedAt: string): string {
  return `${[
    m.machineId,
    m.name,
    m.osPlatform,
    m.osVersion,
    pgArray(m.ips),
    m.healthStatus,
    m.onboardingStatus,
    m.riskScore,
    m.exposureLevel,
    m.deviceValue,
    m.firstSeen?.toISOString() ?? null,
    m.lastSeen?.toISOString() ?? null,
    pgArray(m.tags),
    m.isPotentialDuplicate ? 't' : 'f',
    m.mergedIntoMachineId,
    null,
    syncedAt,
  ]
    .map(copyField)
    .join('\t')}\n`;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyField = (v: string | null) =>
  v === null ? '\\N' : v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] ?? c);

/** A text[] literal with every element quoted, so commas, braces and spaces need no thought. */
const pgArray = (xs: readonly string[]) =>
  `{${xs.map((x) => `"${x.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;

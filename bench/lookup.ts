import type postgres from 'postgres';
import type { HostQuery } from '../src/core/hosts/parse-host-query.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { hostStore } from '../src/db/repos/hosts.js';
import { FLEET_PREFIX } from './defender-peer.js';
import { type Distribution, distribution, seededRandom } from './stats.js';

export const LOOKUP_KINDS = ['name', 'prefix', 'ip', 'id'] as const;
export type LookupKind = (typeof LOOKUP_KINDS)[number];

export interface LookupFigures {
  kind: LookupKind;
  /** the first query, and how many hosts it matched */
  example: string;
  matched: number;
  search: Distribution;
  /** a bare indexed SELECT for the same rows through the same pool */
  baseline: Distribution;
  /** the baseline's plan for the first target, e.g. `Limit > Seq Scan on hosts` */
  baselinePlan: string;
  /** autovacuum's record of `hosts` after this kind: did it run meanwhile? */
  tableStats: Record<string, unknown>;
}

interface Target {
  query: HostQuery;
  /** the bare SELECT: text with $1, and its parameter */
  bare: { text: string; param: string };
}

const LIMIT = 10;
const WARMUP = 50;

/**
 * hostStore.search (what `/hostlock lookup` runs) against the bare indexed SELECT it refines, per
 * query kind, over up to `iterations` distinct targets after a warm-up, each kind stopping early
 * once `budgetMs` is spent (slow plans would otherwise take minutes). Each iteration times both,
 * in alternating order, so neither always finds pages the other just read.
 */
export async function measureLookups(
  database: DatabaseHandle,
  o: { fleetSize: number; iterations: number; budgetMs: number },
): Promise<LookupFigures[]> {
  const { sql } = database;
  const store = hostStore(database.db);
  const bare = (t: Target) => sql.unsafe(t.bare.text, [t.bare.param], { prepare: true });
  const out: LookupFigures[] = [];
  for (const kind of LOOKUP_KINDS) {
    const targets = await targetsFor(sql, kind, o.fleetSize, o.iterations);
    globalThis.gc?.();
    for (const t of targets.slice(0, WARMUP)) {
      await store.search(t.query, LIMIT);
      await bare(t);
    }
    const search: number[] = [];
    const baseline: number[] = [];
    let matched = 0;
    const deadline = performance.now() + o.budgetMs;
    for (const [i, t] of targets.entries()) {
      if (performance.now() > deadline) {
        break;
      }
      const runSearch = async () => {
        const started = performance.now();
        const r = await store.search(t.query, LIMIT);
        search.push(performance.now() - started);
        if (r.total === 0) {
          throw new Error(`search found nothing for ${JSON.stringify(t.query)}`);
        }
        matched = i === 0 ? r.total : matched;
      };
      const runBare = async () => {
        const started = performance.now();
        await bare(t);
        baseline.push(performance.now() - started);
      };
      if (i % 2 === 0) {
        await runSearch();
        await runBare();
      } else {
        await runBare();
        await runSearch();
      }
    }
    const [first] = targets;
    out.push({
      kind,
      example: first?.query.value ?? '',
      matched,
      search: distribution(search),
      baseline: distribution(baseline),
      baselinePlan: first ? await planOf(sql, first) : '',
      tableStats: await tableStats(sql),
    });
  }
  return out;
}

async function tableStats(sql: postgres.Sql): Promise<Record<string, unknown>> {
  const [row] = await sql<Record<string, unknown>[]>`
    select n_live_tup, n_dead_tup, last_autovacuum, last_autoanalyze, autovacuum_count, autoanalyze_count
    from pg_stat_user_tables where relname = 'hosts'`;
  return { ...row };
}

/** The plan's spine, outermost first: `Limit > Bitmap Heap Scan on hosts > Bitmap Index Scan on hosts_ips_idx`. */
async function planOf(sql: postgres.Sql, t: Target): Promise<string> {
  interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    'Index Name'?: string;
    Plans?: PlanNode[];
  }
  const [row] = await sql.unsafe<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(
    `explain (format json) ${t.bare.text}`,
    [t.bare.param],
  );
  const steps: string[] = [];
  for (let n: PlanNode | undefined = row?.['QUERY PLAN'][0]?.Plan; n; n = n.Plans?.[0]) {
    const on = n['Index Name'] ?? n['Relation Name'];
    steps.push(on ? `${n['Node Type']} on ${on}` : n['Node Type']);
  }
  return steps.join(' > ');
}

/**
 * Distinct generated hosts, the same every run. Exact names use 5-digit indexes (no longer name
 * starts with one); prefixes use 4-digit ones (`host-1234` → itself and host-12340…12349: 11 hosts).
 */
async function targetsFor(
  sql: postgres.Sql,
  kind: LookupKind,
  fleetSize: number,
  n: number,
): Promise<Target[]> {
  const random = seededRandom(LOOKUP_KINDS.indexOf(kind) + 1);
  const pick = (lo: number, hi: number) => {
    const top = Math.min(hi, fleetSize);
    const bottom = Math.min(lo, top - 1);
    return bottom + Math.floor(random() * (top - bottom));
  };
  const names = Array.from({ length: n }, () =>
    kind === 'prefix' ? `${FLEET_PREFIX}-${pick(1_000, 10_000)}` : `${FLEET_PREFIX}-${pick(10_000, 100_000)}`,
  );
  if (kind === 'name' || kind === 'prefix') {
    return names.map((value) => ({
      query: { kind: 'name', value },
      bare:
        kind === 'name'
          ? { text: `select * from hosts where lower(name) = $1 limit ${LIMIT}`, param: value }
          : { text: `select * from hosts where lower(name) like $1 limit ${LIMIT}`, param: `${value}%` },
    }));
  }
  const rows = await sql<{ name: string; id: string; ip: string }[]>`
    select name, machine_id as id, ips[1] as ip from hosts where name = any(${names})`;
  const byName = new Map(rows.map((r) => [r.name, r]));
  return names.map((name): Target => {
    const row = byName.get(name);
    if (!row) {
      throw new Error(`${name} is not in hosts; did the sync run?`);
    }
    return kind === 'ip'
      ? {
          query: { kind: 'ip', value: row.ip, version: 4 },
          // No LIMIT here: right after a sync, `LIMIT 10` makes the planner prefer a sequential scan
          // (default 0.5 % selectivity, index costed with its GIN pending list), which is no
          // indexed baseline. A machine has one or two matches, so the limit changes no result.
          bare: { text: 'select * from hosts where ips @> array[$1]::text[]', param: row.ip },
        }
      : {
          query: { kind: 'machine_id', value: row.id },
          bare: { text: `select * from hosts where machine_id = $1 limit ${LIMIT}`, param: row.id },
        };
  });
}

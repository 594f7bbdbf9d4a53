import { randomUUID } from 'node:crypto';
import { and, eq, getTableColumns, inArray, isNotNull, sql } from 'drizzle-orm';
import type { DefenderMachine } from '../../core/defender.js';
import { externalIsolationEvent } from '../../core/events.js';
import type { HostQuery } from '../../core/hosts/parse-host-query.js';
import type { HostStore } from '../../core/hosts/ports.js';
import type { Host, IsolationSource, IsolationState, OpenLockdown } from '../../core/hosts/types.js';
import { OPEN_LOCKDOWN_STATES } from '../../core/lockdown/machine.js';
import type { Database } from '../client.js';
import { hosts, lockdowns } from '../schema.js';
import { enqueueEvents } from './outbox.js';

type HostRow = typeof hosts.$inferSelect;

export function toHost(r: HostRow): Host {
  return {
    machineId: r.machineId,
    name: r.name,
    osPlatform: r.osPlatform,
    osVersion: r.osVersion,
    ips: r.ips,
    healthStatus: r.healthStatus,
    onboardingStatus: r.onboardingStatus,
    riskScore: r.riskScore,
    exposureLevel: r.exposureLevel,
    deviceValue: r.deviceValue,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
    tags: r.tags,
    isPotentialDuplicate: r.isPotentialDuplicate,
    mergedIntoMachineId: r.mergedIntoMachineId,
    isolationState: r.isolationState as IsolationState,
    isolationSource: r.isolationSource as IsolationSource,
    goneAt: r.goneAt,
    syncedAt: r.syncedAt,
  };
}

function toOpenLockdown(r: typeof lockdowns.$inferSelect): OpenLockdown {
  return {
    id: r.id,
    state: r.state,
    requestedBy: r.requestedBy,
    approvedBy: r.approvedBy,
    lockedAt: r.lockedAt,
    expiresAt: r.expiresAt,
    durationMinutes: r.durationMinutes,
    trigger: r.trigger ?? null,
  };
}

/**
 * The least string above every string that starts with `prefix` (its last character + 1), in the
 * byte order of text_pattern_ops: [prefix, nextPrefix(prefix)) is exactly "starts with prefix".
 */
export function nextPrefix(prefix: string): string {
  // host-name queries are ASCII (parse-host-query.ts), far from U+10FFFF and the surrogates
  if (!/^[\x20-\x7e]+$/.test(prefix)) {
    throw new RangeError(`not a printable ASCII prefix: ${JSON.stringify(prefix)}`);
  }
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** `like` pattern text: `_` is legal in host names and must not act as a wildcard. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * When Defender last confirmed a host's facts. A sync rewrites only the hosts that changed
 * (`recordListed`); every host not gone was listed, unchanged, by the last successful run, which
 * started at `inventory_sync.last_success_at`.
 */
const EFFECTIVE_SYNCED_AT = sql<Date>`case when ${hosts.goneAt} is null
    then greatest(${hosts.syncedAt}, (select last_success_at from inventory_sync where id = 1))
    else ${hosts.syncedAt} end`.mapWith(hosts.syncedAt);
const HOST_COLUMNS = { ...getTableColumns(hosts), syncedAt: EFFECTIVE_SYNCED_AT };

/**
 * The open states as literals: a query must spell them as the partial index
 * lockdowns_one_open_per_machine does for the planner to use it (parameters would not match).
 */
const OPEN_STATES = sql.raw(`(${OPEN_LOCKDOWN_STATES.map((s) => `'${s}'`).join(', ')})`);

type OpenLockdownJson = Omit<OpenLockdown, 'lockedAt' | 'expiresAt'> & {
  lockedAt: string | null;
  expiresAt: string | null;
};

/**
 * A host's open lockdown as a subquery in the select list (at most one: lockdowns_one_open_per_machine):
 * with ORDER BY … LIMIT the planner evaluates it for the rows returned only, one index lookup
 * each, where a join would meet every open lockdown (a hash join) or every matching host.
 */
const OPEN_LOCKDOWN_JSON = sql<OpenLockdownJson | string | null>`(
  select json_build_object('id', l.id, 'state', l.state, 'requestedBy', l.requested_by,
    'approvedBy', l.approved_by, 'lockedAt', l.locked_at, 'expiresAt', l.expires_at,
    'durationMinutes', l.duration_minutes, 'trigger', l.trigger)
  from lockdowns l where l.machine_id = hosts.machine_id and l.state in ${OPEN_STATES} limit 1)`;

function openLockdownFromJson(value: OpenLockdownJson | string): OpenLockdown {
  const j: OpenLockdownJson = typeof value === 'string' ? JSON.parse(value) : value;
  return {
    ...j,
    trigger: j.trigger ?? null,
    lockedAt: j.lockedAt === null ? null : new Date(j.lockedAt),
    expiresAt: j.expiresAt === null ? null : new Date(j.expiresAt),
  };
}

/** The mark of a run in inventory_seen (a Defender machine id is hex: never this). */
const RUN_MARK = 'run:';

/**
 * The running sync's listing is not whole: PostgreSQL restarted or failed over (inventory_seen is
 * unlogged), or another run started and emptied it. Nothing was marked gone; the next run starts over.
 */
export class ListingLost extends Error {
  constructor() {
    super(
      'the inventory listing of this run was lost (PostgreSQL restarted or another run started): nothing was marked gone',
    );
    this.name = 'ListingLost';
  }
}

/** The columns Defender's listing fills, in table order. */
const HOST_FACT_LIST = [
  'machine_id',
  'name',
  'os_platform',
  'os_version',
  'ips',
  'health_status',
  'onboarding_status',
  'risk_score',
  'exposure_level',
  'device_value',
  'first_seen',
  'last_seen',
  'tags',
  'is_potential_duplicate',
  'merged_into_machine_id',
] as const;
const HOST_FACTS = sql.raw(HOST_FACT_LIST.join(', '));
const SET_FACTS = HOST_FACT_LIST.filter((c) => c !== 'machine_id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

/**
 * Machines as rows (one per machine id): a single jsonb parameter, so no 65 535-parameter limit
 * and no round trip per row.
 */
function machineRows(machines: readonly DefenderMachine[]) {
  const payload = JSON.stringify(
    machines.map((m) => ({
      machine_id: m.machineId,
      name: m.name,
      os_platform: m.osPlatform,
      os_version: m.osVersion,
      ips: m.ips,
      health_status: m.healthStatus,
      onboarding_status: m.onboardingStatus,
      risk_score: m.riskScore,
      exposure_level: m.exposureLevel,
      device_value: m.deviceValue,
      first_seen: m.firstSeen,
      last_seen: m.lastSeen,
      tags: m.tags,
      is_potential_duplicate: m.isPotentialDuplicate,
      merged_into_machine_id: m.mergedIntoMachineId,
    })),
  );
  return sql`select distinct on (r.machine_id) r.machine_id, r.name, r.os_platform, r.os_version,
      coalesce(r.ips, '{}') as ips, r.health_status, r.onboarding_status, r.risk_score, r.exposure_level,
      r.device_value, r.first_seen, r.last_seen, coalesce(r.tags, '{}') as tags,
      r.is_potential_duplicate, r.merged_into_machine_id
    from jsonb_to_recordset(${payload}::jsonb) as r(machine_id text, name text, os_platform text,
      os_version text, ips text[], health_status text, onboarding_status text, risk_score text,
      exposure_level text, device_value text, first_seen timestamptz, last_seen timestamptz, tags text[],
      is_potential_duplicate boolean, merged_into_machine_id text)`;
}

// One object of short repository methods over `db` (the HostStore port), not one long procedure.
export function hostStore(db: Database): HostStore {
  return {
    async search(q: HostQuery, limit: number) {
      let where: ReturnType<typeof sql>;
      let rank: ReturnType<typeof sql> | undefined;
      if (q.kind === 'machine_id') {
        where = sql`${hosts.machineId} = ${q.value}`;
      } else if (q.kind === 'ip') {
        where = sql`${hosts.ips} @> array[${q.value}]::text[]`;
      } else {
        const prefix = `${likeEscape(q.value)}%`;
        where = sql`lower(${hosts.name}) like ${prefix}`;
        rank = sql`case when lower(${hosts.name}) = ${q.value} then 0
                        when lower(${hosts.name}) like ${`${likeEscape(q.value)}.%`} then 1 else 2 end`;
      }
      const rows = await db
        .select({
          host: HOST_COLUMNS,
          total: sql<number>`count(*) over ()`.mapWith(Number),
          lockdown: OPEN_LOCKDOWN_JSON,
        })
        .from(hosts)
        .where(where)
        // usable records first: merged-away and vanished ones last, then the freshest report
        .orderBy(
          ...(rank ? [rank] : []),
          sql`(${hosts.mergedIntoMachineId} is not null or ${hosts.goneAt} is not null)`,
          sql`${hosts.lastSeen} desc nulls last`,
          hosts.name,
        )
        .limit(limit);
      const open = new Map<string, OpenLockdown>();
      for (const r of rows) {
        if (r.lockdown) {
          open.set(r.host.machineId, openLockdownFromJson(r.lockdown));
        }
      }
      return { hosts: rows.map((r) => toHost(r.host)), total: rows[0]?.total ?? 0, lockdowns: open };
    },

    async searchMany(queries, limit) {
      if (queries.length === 0) {
        return [];
      }
      // One statement matches the whole batch (then one reads the hosts): each query is answered by its own index lookup
      // (lateral), ranked and limited as `search` does. A name prefix is the range
      // [value, value with its last character + 1): with `~>=~`/`~<~` the planner uses the
      // text_pattern_ops index for a pattern that is a parameter (a `like` it could not).
      const input = JSON.stringify(
        queries.map((q, i) => ({
          i,
          kind: q.kind,
          value: q.value,
          upper: q.kind === 'name' ? nextPrefix(q.value) : null,
        })),
      );
      const order = sql`(h.merged_into_machine_id is not null or h.gone_at is not null), h.last_seen desc nulls last, h.name`;
      const matched = await db.execute<{ i: number; machine_id: string; total: number }>(sql`
        with q as (select * from jsonb_to_recordset(${input}::jsonb) as q(i int, kind text, value text, upper text))
        select q.i, m.machine_id, m.total::int as total, m.pos from q cross join lateral (
          select h.machine_id, count(*) over () as total, row_number() over (order by ${order}) as pos
          from hosts h where h.machine_id = q.value order by ${order} limit ${limit}) m
        where q.kind = 'machine_id'
        union all
        select q.i, m.machine_id, m.total::int, m.pos from q cross join lateral (
          select h.machine_id, count(*) over () as total, row_number() over (order by ${order}) as pos
          from hosts h where h.ips @> array[q.value] order by ${order} limit ${limit}) m
        where q.kind = 'ip'
        union all
        select q.i, m.machine_id, m.total::int, m.pos from q cross join lateral (
          select h.machine_id, count(*) over () as total, row_number() over (order by
            case when lower(h.name) = q.value then 0 when lower(h.name) ~>=~ (q.value || '.')
              and lower(h.name) ~<~ (q.value || '/') then 1 else 2 end, ${order}) as pos
          from hosts h where lower(h.name) ~>=~ q.value and lower(h.name) ~<~ q.upper
          order by pos limit ${limit}) m
        where q.kind = 'name'
        order by 1, 4`);
      const ids = [...new Set(matched.map((r) => r.machine_id))];
      const rows = ids.length
        ? await db.select(HOST_COLUMNS).from(hosts).where(inArray(hosts.machineId, ids))
        : [];
      const byId = new Map(rows.map((r) => [r.machineId, toHost(r)]));
      const answers = queries.map(() => ({ hosts: [] as Host[], total: 0 }));
      for (const r of matched) {
        const a = answers[r.i];
        const h = byId.get(r.machine_id);
        if (a && h) {
          a.hosts.push(h);
          a.total = r.total;
        }
      }
      return answers;
    },

    async get(machineId) {
      const [row] = await db.select(HOST_COLUMNS).from(hosts).where(eq(hosts.machineId, machineId));
      return row ? toHost(row) : null;
    },

    async upsertMachines(machines: readonly DefenderMachine[], syncedAt: Date) {
      if (machines.length === 0) {
        return;
      }
      await db.execute(sql`
        with x as (${machineRows(machines)})
        insert into hosts (${HOST_FACTS}, gone_at, synced_at)
        select ${HOST_FACTS}, null, ${syncedAt.toISOString()}::timestamptz from x
        on conflict (machine_id) do update set ${sql.raw(SET_FACTS)}, gone_at = null,
          synced_at = excluded.synced_at`);
    },

    async startListing() {
      // The run's mark: gone with the table's rows if PostgreSQL crashes or fails over (the table
      // is unlogged), or if another run starts, so markGone can tell its listing is whole.
      const run = `${RUN_MARK}${randomUUID()}`;
      await db.transaction(async (tx) => {
        await tx.execute(sql`truncate inventory_seen`);
        await tx.execute(sql`insert into inventory_seen (machine_id) values (${run})`);
      });
      return run;
    },

    async recordListed(machines: readonly DefenderMachine[], runStartedAt: Date) {
      if (machines.length === 0) {
        return;
      }
      // Three writes in one statement, all against the snapshot before it: every machine is noted
      // as seen; a known host is rewritten only if a fact changed (or it was gone), so a re-sync of
      // a steady fleet is reads; a new one is inserted (a lookup inserting it meanwhile: the
      // conflict clause). An unchanged host keeps its synced_at: its freshness is the run's
      // (EFFECTIVE_SYNCED_AT).
      const at = sql`${runStartedAt.toISOString()}::timestamptz`;
      await db.execute(sql`
        with x as (${machineRows(machines)}),
        changed as (
          update hosts h set ${sql.raw(SET_FACTS.replaceAll('excluded.', 'x.'))}, gone_at = null, synced_at = ${at}
          from x where h.machine_id = x.machine_id
            and (h.gone_at is not null
              or (${sql.raw(HOST_FACT_LIST.map((c) => `h.${c}`).join(', '))})
                is distinct from (${sql.raw(HOST_FACT_LIST.map((c) => `x.${c}`).join(', '))}))
          returning h.machine_id),
        unchanged as (
          insert into inventory_seen (machine_id)
          select h.machine_id from hosts h join x on x.machine_id = h.machine_id
          where h.machine_id not in (select machine_id from changed))
        insert into hosts (${HOST_FACTS}, gone_at, synced_at)
        select ${HOST_FACTS}, null, ${at} from x
        where not exists (select 1 from hosts h where h.machine_id = x.machine_id)
        on conflict (machine_id) do update set ${sql.raw(SET_FACTS)}, gone_at = null,
          synced_at = excluded.synced_at`);
    },

    async markGone(runStartedAt, run) {
      const at = runStartedAt.toISOString();
      // One statement: the run's mark is checked in the snapshot the update sees.
      const [row] = await db.execute<{ whole: boolean; gone: number; listed: number }>(sql`
        with run as (select exists (select 1 from inventory_seen where machine_id = ${run}) as whole),
        gone as (
          update hosts h set gone_at = ${at}::timestamptz
          where (select whole from run) and h.gone_at is null and h.synced_at < ${at}::timestamptz
            and not exists (select 1 from inventory_seen s where s.machine_id = h.machine_id)
          returning 1)
        select (select whole from run) as whole, (select count(*) from gone)::int as gone,
          (select count(*) from hosts h where h.synced_at >= ${at}::timestamptz
             or exists (select 1 from inventory_seen s where s.machine_id = h.machine_id))::int as listed`);
      if (!row?.whole) {
        throw new ListingLost();
      }
      return { gone: row.gone, listed: row.listed };
    },

    async setIsolation(updates) {
      if (updates.length === 0) {
        return 0;
      }
      const payload = JSON.stringify(
        updates.map((u) => ({ machine_id: u.machineId, state: u.state, source: u.source })),
      );
      return db.transaction(async (tx) => {
        // `o` is the row as it was before this statement: what the host moved from.
        const rows = await tx.execute<{
          machine_id: string;
          name: string;
          ips: string[] | null;
          before: string;
          before_source: string | null;
          after: string;
          locked: boolean;
        }>(sql`
          update hosts h set isolation_state = x.state, isolation_source = x.source
          from jsonb_to_recordset(${payload}::jsonb) as x(machine_id text, state text, source text),
               hosts o
          where h.machine_id = x.machine_id and o.machine_id = h.machine_id
            and (h.isolation_state, h.isolation_source) is distinct from (x.state, x.source)
          returning h.machine_id, h.name, h.ips, o.isolation_state as before,
            o.isolation_source as before_source, h.isolation_state as after,
            exists (select 1 from lockdowns l where l.machine_id = h.machine_id
                    and l.state in ${OPEN_STATES}) as locked`);
        const now = new Date();
        const events = rows.flatMap((r) => {
          const host = { name: r.name, machineId: r.machine_id, ...(r.ips?.length ? { ips: r.ips } : {}) };
          if (r.after === 'isolated_outside' && r.before !== 'isolated_outside') {
            return [externalIsolationEvent('host.isolated_externally', host, now)];
          }
          // released outside hostlock, seen at once or after its pending Unisolate; a hostlock
          // lockdown's host tells it from its own lockdown (step-release), not twice
          const outsideBefore =
            r.before === 'isolated_outside' || (r.before === 'releasing' && r.before_source === 'outside');
          if (outsideBefore && r.after === 'not_isolated' && !r.locked) {
            return [externalIsolationEvent('host.released_externally', host, now)];
          }
          return [];
        });
        await enqueueEvents(tx, events);
        return rows.length;
      });
    },

    async isolated(limit, o = {}) {
      const rows = await db
        .select({ host: HOST_COLUMNS, total: sql<number>`count(*) over ()`.mapWith(Number) })
        .from(hosts)
        .where(
          o.source
            ? sql`${hosts.isolationState} <> 'not_isolated' and ${hosts.isolationSource} = ${o.source}`
            : sql`${hosts.isolationState} <> 'not_isolated'`,
        )
        .orderBy(hosts.name)
        .limit(limit);
      return { hosts: rows.map((r) => toHost(r.host)), total: rows[0]?.total ?? 0 };
    },

    async identities() {
      return db
        .select({ machineId: hosts.machineId, name: hosts.name, tags: hosts.tags })
        .from(hosts)
        .where(sql`${hosts.goneAt} is null and ${hosts.mergedIntoMachineId} is null`);
    },

    async transitional() {
      const rows = await db
        .select({ id: hosts.machineId })
        .from(hosts)
        .where(inArray(hosts.isolationState, ['isolating', 'releasing']));
      return rows.map((r) => r.id);
    },

    async ownActionIds(machineIds) {
      if (machineIds.length === 0) {
        return new Set();
      }
      const rows = await db
        .select({ isolate: lockdowns.mdeActionId, release: lockdowns.mdeReleaseActionId })
        .from(lockdowns)
        .where(and(inArray(lockdowns.machineId, [...machineIds]), isNotNull(lockdowns.mdeActionId)));
      return new Set(rows.flatMap((r) => [r.isolate, r.release]).filter((x): x is string => !!x));
    },

    async openLockdowns(machineIds) {
      if (machineIds.length === 0) {
        return new Map();
      }
      const rows = await db
        .select()
        .from(lockdowns)
        .where(
          and(
            inArray(lockdowns.machineId, [...machineIds]),
            inArray(lockdowns.state, [...OPEN_LOCKDOWN_STATES]),
          ),
        );
      return new Map<string, OpenLockdown>(rows.map((r) => [r.machineId, toOpenLockdown(r)]));
    },
  };
}

import type { AckFigures } from './ack.js';
import type { ApprovalFigures, ReleaseFigures } from './lockdown.js';
import type { LookupFigures } from './lookup.js';
import { type Figure, figure } from './report.js';
import type { DefenderReadFigures, SyncFigures } from './sync.js';
import type { UpsertFigures } from './upsert.js';

export interface Measurements {
  sync: SyncFigures;
  read: Omit<DefenderReadFigures, 'rows'>;
  upsert: UpsertFigures;
  /** right after the sync, as it leaves the table */
  lookups: LookupFigures[];
  /** after VACUUM (ANALYZE) hosts, i.e. once autovacuum has been by */
  lookupsVacuumed: LookupFigures[];
  acks: AckFigures;
  /** fresh `node --import tsx` processes: nothing imported, and src/hostlock.ts imported */
  probes: { tsxMb: number; hostlockImportedMb: number };
  approvals: ApprovalFigures;
  releases: ReleaseFigures;
}

/** The issue's goals as table rows, each against its same-run baseline. */
export function toFigures(m: Measurements): Figure[] {
  return [
    ...syncFigures(m),
    ...lookupFigures(m),
    ...ackFigures(m.acks),
    ...lockdownFigures(m),
    ...memoryFigures(m),
  ];
}

function syncFigures({ sync, read, upsert }: Measurements): Figure[] {
  const n = sync.machines.toLocaleString('en-US');
  const copy = {
    value: upsert.copyMs / 1000,
    what: `COPY FROM STDIN of the same rows into an empty copy of hosts (same indexes), median of ${upsert.rounds}`,
  };
  return [
    figure({
      figure: `sync ${n}: Defender list calls`,
      value: sync.listCalls,
      unit: 'calls',
      baseline: {
        value: sync.expectedListCalls,
        what: '⌈N / 10 000⌉ list calls: one per full Defender page',
      },
      goal: '≤ ⌈N/10 000⌉',
      pass: sync.listCalls <= sync.expectedListCalls,
    }),
    figure({
      figure: `sync ${n}: upsert into empty hosts`,
      value: upsert.upsertEmptyMs / 1000,
      unit: 's',
      baseline: copy,
      goal: '≤ 2× COPY',
      pass: upsert.upsertEmptyMs <= 2 * upsert.copyMs,
    }),
    figure({
      figure: `re-sync ${n}: upsert over existing rows`,
      value: upsert.upsertExistingMs / 1000,
      unit: 's',
      baseline: copy,
    }),
    figure({
      figure: `sync ${n}: end to end`,
      value: sync.wallMs / 1000,
      unit: 's',
      baseline: {
        value: read.clientListMs / 1000,
        what: "hostlock's Defender client listing every machine (HTTPS, JSON, zod, mapping), no database",
      },
    }),
    figure({ figure: `sync ${n}: throughput`, value: sync.machinesPerSecond, unit: 'hosts/s' }),
    figure({ figure: 'Defender peer: serving every page', value: read.peerServeMs / 1000, unit: 's' }),
  ];
}

const lookupGoal = (l: LookupFigures) => ({
  goal: '≤ 10 ms and ≤ 3×',
  pass: l.search.p99 <= 10 && l.search.p99 <= 3 * l.baseline.p99,
});

function lookupFigures({ lookups, lookupsVacuumed }: Measurements): Figure[] {
  const baseline = (l: LookupFigures, p: 'p50' | 'p99') => ({
    value: l.baseline[p],
    what: `bare SELECT by ${l.kind}${l.kind === 'ip' ? '' : ' … LIMIT 10'}, same pool: ${l.baselinePlan}`,
  });
  const label = (l: LookupFigures) =>
    `lookup by ${l.kind} (${l.matched} ${l.matched === 1 ? 'match' : 'matches'}${l.search.n < 1000 ? `, n=${l.search.n}` : ''})`;
  const out: Figure[] = [];
  for (const l of lookups) {
    out.push(
      figure({ figure: `${label(l)} p50`, value: l.search.p50, unit: 'ms', baseline: baseline(l, 'p50') }),
      figure({
        figure: `${label(l)} p99`,
        value: l.search.p99,
        unit: 'ms',
        baseline: baseline(l, 'p99'),
        ...lookupGoal(l),
      }),
    );
  }
  for (const l of lookupsVacuumed) {
    out.push(
      figure({
        figure: `${label(l)} p99 after VACUUM`,
        value: l.search.p99,
        unit: 'ms',
        baseline: baseline(l, 'p99'),
        ...lookupGoal(l),
      }),
    );
  }
  return out;
}

function ackFigures(acks: AckFigures): Figure[] {
  const what = '/hostlock help (no database) at the same concurrency';
  const label = `ack of /hostlock lookup ×${acks.concurrency} concurrent`;
  return [
    figure({
      figure: `${label} p50`,
      value: acks.lookup.p50,
      unit: 'ms',
      baseline: { value: acks.help.p50, what },
    }),
    figure({
      figure: `${label} p99`,
      value: acks.lookup.p99,
      unit: 'ms',
      baseline: { value: acks.help.p99, what },
      goal: '≤ 50 ms',
      pass: acks.lookup.p99 <= 50,
    }),
    figure({
      figure: `${label}: answered per second`,
      value: acks.lookupPerSecond,
      unit: 'req/s',
      baseline: { value: acks.helpPerSecond, what },
    }),
  ];
}

function lockdownFigures({ approvals: a, releases: r }: Measurements): Figure[] {
  const click = 'HTTP ack of the same signed Approve click (request → full response)';
  const timer = `a plain setTimeout to each expires_at in hostlock's process (the engine ticks every ${r.tickMs / 1000} s)`;
  const approve = `approve click → isolate request (n=${a.n})`;
  const release = `release lateness after expires_at (n=${r.m})`;
  return [
    figure({
      figure: `${approve} p50`,
      value: a.isolate.p50,
      unit: 'ms',
      baseline: { value: a.ack.p50, what: click },
    }),
    figure({
      figure: `${approve} p99`,
      value: a.isolate.p99,
      unit: 'ms',
      baseline: { value: a.ack.p99, what: click },
      goal: '≤ 0.5 s',
      pass: a.timedOut === 0 && a.isolate.p99 <= 500,
    }),
    figure({
      figure: `${release} p50`,
      value: r.lateness.p50,
      unit: 'ms',
      baseline: { value: r.timer.p50, what: timer },
    }),
    figure({
      figure: `${release} p99`,
      value: r.lateness.p99,
      unit: 'ms',
      baseline: { value: r.timer.p99, what: timer },
      goal: '≤ 5 s',
      pass: r.timedOut === 0 && r.lateness.p99 <= 5_000,
    }),
  ];
}

function memoryFigures({ sync, probes }: Measurements): Figure[] {
  return [
    figure({
      figure: 'RSS after sync',
      value: sync.rssAfterSyncMb,
      unit: 'MB',
      baseline: { value: sync.rssBootMb, what: 'RSS after boot, before the sync (both after gc)' },
      goal: '≤ 150 MB',
      pass: sync.rssAfterSyncMb <= 150,
    }),
    figure({ figure: 'RSS peak during sync', value: sync.rssPeakDuringSyncMb, unit: 'MB' }),
    figure({ figure: 'V8 heap in use after sync', value: sync.memoryAfterSync.heapUsedMb, unit: 'MB' }),
    figure({ figure: 'RSS of node --import tsx, nothing imported', value: probes.tsxMb, unit: 'MB' }),
    figure({
      figure: 'RSS of node --import tsx + src/hostlock.ts imported',
      value: probes.hostlockImportedMb,
      unit: 'MB',
    }),
  ];
}

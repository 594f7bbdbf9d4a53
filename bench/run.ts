import path from 'node:path';
import { relaunchTrustingTestCa } from '../test/fakes/relaunch.js';
import { measureAcks } from './ack.js';
import { measureLockdownList, measureScores } from './api.js';
import { type BenchEnv, bootBench } from './env.js';
import { toFigures } from './figures.js';
import { measureGrowth, renderGrowth, writeGrowth } from './growth.js';
import { measureApprovals, measureReleases, openBackground, prepareLockdowns } from './lockdown.js';
import { measureLookups } from './lookup.js';
import { probeRssMb } from './memory-probe.js';
import { measureOutbox } from './outbox.js';
import { machine, renderTable, writeResults } from './report.js';
import { measureDefenderRead, measureFullSync, measureResync } from './sync.js';
import { measureUpsertVsCopy } from './upsert.js';

const MACHINES = Number(process.env.BENCH_MACHINES ?? 100_000);
/** per lookup kind; each kind stops early after LOOKUP_BUDGET_MS (a sequential scan takes ~50 ms) */
const LOOKUP_ITERATIONS = 1_000;
const LOOKUP_BUDGET_MS = 15_000;
const ACK = { concurrency: 50, rounds: 20, warmup: 2 };
const UPSERT_ROUNDS = 5;
// Lockdown figures are real Defender calls under hostlock's budget of 90 a minute (src/mde/budget.ts):
// the sync's 12 calls, the releases (4 each) and the read's 10 share one minute; the approvals (2
// each) and the read another. Larger counts would have the budget's queue in the figures (or in the
// read's), or a minute's wait.
/** approvals clicked one after another, 0–jitterMs apart (any phase of the 1 s tick) */
const APPROVALS = { n: 32, jitterMs: 300, timeoutMs: 10_000 };
/** active lockdowns, the first expiring leadMs after they are written, then one every gapMs on average */
const RELEASES = { m: 16, leadMs: 4_000, gapMs: 1_000, timeoutMs: 30_000 };
/** open lockdowns (none due) while the releases are measured and the engine's sweep query timed */
const OPEN_BACKGROUND = 10_000;
/** events queued for one TCP syslog sink, then delivered; warm-up events go through first, uncounted */
const OUTBOX = { n: 2_000, warmup: 100, timeoutMs: 60_000 };
/** POSTs of `batch` scores, one at a time, after `warmup` */
const SCORES = { batch: 1_000, requests: 6, warmup: 1 };
/** GETs of the open lockdowns, one at a time, after `warmup`, with `open` of them open */
const LIST = { open: 50, n: 200, warmup: 20 };
const RESULTS_FILE = path.join(import.meta.dirname, 'results.json');

const t0 = performance.now();
const progress = (msg: string) =>
  console.error(`bench: [${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);
const budgetWaited = (ms: number) =>
  ms >= 100 && progress(`(waited ${(ms / 1000).toFixed(1)} s for room in hostlock's Defender call budget)`);
/** set on Ctrl-C: the measurement in flight then fails on closed connections, which is no news */
let interrupted = false;

async function bench(dir: string): Promise<void> {
  const startedAt = new Date();
  const host = machine();
  const load1 = host.loadAverage.m1;
  if (load1 > 0.5) {
    progress(
      `the machine is busy before the start (load average ${load1.toFixed(2)}): figures will be noisy`,
    );
  }
  progress(
    `booting PostgreSQL, the Defender peer with ${MACHINES.toLocaleString('en-US')} machines, hostlock…`,
  );
  const env: BenchEnv = await bootBench({
    dir,
    cert: { certPath: path.join(dir, 'cert.pem'), keyPath: path.join(dir, 'key.pem') },
    machines: MACHINES,
  });
  const onSignal = () => {
    interrupted = true;
    progress('interrupted; cleaning up');
    void env.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    progress('full sync…');
    const sync = await measureFullSync(env);
    progress(`synced in ${(sync.wallMs / 1000).toFixed(1)} s; lockdown releases at expires_at…`);
    // The two lockdown figures run far apart: each needs room in hostlock's Defender call budget
    // (90 calls a minute), and the rest of the bench uses Defender only for the read below.
    await prepareLockdowns(env);
    // the releases are measured with OPEN_BACKGROUND other lockdowns open (issue #17, item 5)
    const background = await openBackground(env, {
      n: Math.min(OPEN_BACKGROUND, Math.floor(MACHINES / 2)),
      from: Math.floor(MACHINES / 2),
      samples: 200,
    });
    const releases = await measureReleases(env, { ...RELEASES, fleetSize: MACHINES });
    budgetWaited(releases.budgetWaitMs);
    const { remove, ...engine } = background;
    await remove();
    progress('lookups…');
    const { database } = env.hostlock;
    const lookupOptions = { fleetSize: MACHINES, iterations: LOOKUP_ITERATIONS, budgetMs: LOOKUP_BUDGET_MS };
    const lookups = await measureLookups(database, lookupOptions);
    // What autovacuum does a minute or so later: flushes the GIN pending list, gathers statistics.
    progress('lookups after VACUUM (ANALYZE) hosts…');
    await database.sql`vacuum (analyze) hosts`;
    const lookupsVacuumed = await measureLookups(database, lookupOptions);
    // the releases' and approvals' Defender calls are a minute apart from the re-sync's 12
    progress('re-sync over the same fleet…');
    const resync = await measureResync(env);
    progress('slash-command acks…');
    const acks = await measureAcks(env, { ...ACK, fleetSize: MACHINES });
    progress('Defender read alone…');
    const { rows, ...read } = await measureDefenderRead(env);
    progress('memory of a bare runtime…');
    const probes = {
      nodeMb: await probeRssMb([]),
      hostlockImportedMb: await probeRssMb([path.join(import.meta.dirname, '../dist/hostlock.js')]),
    };
    progress('upsert vs COPY…');
    const upsert = await measureUpsertVsCopy(database, rows, UPSERT_ROUNDS);
    progress('approve click → isolate request…');
    const approvals = await measureApprovals(env, { ...APPROVALS, fleetSize: MACHINES });
    budgetWaited(approvals.budgetWaitMs);
    progress(`outbox delivery of ${OUTBOX.n.toLocaleString('en-US')} events to a TCP syslog receiver…`);
    const outbox = await measureOutbox(env, OUTBOX);
    progress(`POST /api/v2.1/host/scores, ${SCORES.batch.toLocaleString('en-US')} scores a request…`);
    const scores = await measureScores(env, { ...SCORES, fleetSize: MACHINES });
    progress(`GET /api/v2.1/lockdown/host with ${LIST.open} open lockdowns…`);
    const list = await measureLockdownList(env, { ...LIST, fleetSize: MACHINES });

    const measured = {
      sync,
      resync,
      read,
      upsert,
      lookups,
      lookupsVacuumed,
      acks,
      probes,
      approvals,
      releases,
      engine,
      outbox,
      scores,
      list,
    };
    const figures = toFigures(measured);
    console.log(renderTable(figures, host));
    const durationS = (Date.now() - startedAt.getTime()) / 1000;
    const { read: defenderRead, ...others } = measured;
    await writeResults(RESULTS_FILE, {
      startedAt,
      durationS,
      machine: host,
      figures,
      raw: { machines: MACHINES, defenderRead, ...others },
    });
    const missed = figures.filter((f) => f.pass === false).length;
    console.log(
      `\n${missed === 0 ? 'every goal met' : `${missed} goal(s) MISSED (a measurement, not a test: exit 0)`}` +
        ` · ${durationS.toFixed(0)} s · wrote ${path.relative(process.cwd(), RESULTS_FILE)}`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress('stopping…');
    await env.close();
  }
}

/** `npm run bench -- --large`: the growth curve (sync and lookup at 10 000, 100 000 and 300 000). */
async function growth(dir: string): Promise<void> {
  const startedAt = new Date();
  const host = machine();
  const g = await measureGrowth(
    dir,
    { certPath: path.join(dir, 'cert.pem'), keyPath: path.join(dir, 'key.pem') },
    progress,
  );
  console.log(renderGrowth(g, host));
  await writeGrowth(RESULTS_FILE, g, host, startedAt);
  console.log(`\nwrote the growth curve into ${path.relative(process.cwd(), RESULTS_FILE)}`);
}

if (process.env.BENCH_CHILD === '1') {
  try {
    const dir = process.env.BENCH_CHILD_DIR ?? '';
    await (process.argv.includes('--large') ? growth(dir) : bench(dir));
  } catch (e) {
    if (!interrupted) {
      console.error('bench: failed:', e);
    }
    process.exitCode = 1;
  }
  // Agenda leaves an unref-less watchdog timer behind after drain (as src/main.ts notes): without
  // an explicit exit the process lingers up to a minute after everything has stopped.
  process.exit();
} else {
  process.exitCode = await relaunchTrustingTestCa({
    prefix: 'hostlock-bench-',
    childEnv: 'BENCH_CHILD',
    nodeArgs: ['--expose-gc'],
  });
}

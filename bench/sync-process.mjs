// The sync measured as production runs it: a process of its own running the built JavaScript
// (dist/, plain `node`, no tsx), started as src/main.ts starts it, against the bench's database and
// peers. Prints one JSON line: RSS and V8 heap after boot (after gc); the peak RSS during the sync
// (the kernel's high-water mark, reset just before it starts); RSS right after the sync (after gc);
// RSS once idle with no forced gc: when it is back to the boot figure, or after IDLE_MS (what an
// operator's dashboard shows once V8's memory reducer has run); wall time and the outcome. With
// BENCH_SYNC_TIME_ONLY=1, only the wall time and outcome (a re-sync). Both say how much CPU the whole
// machine spent during the sync (this process, PostgreSQL, the Defender peer).
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { machineCpuMs } from './cpu-busy.mjs';

const IDLE_MS = 60_000;
const dist = new URL('../dist/', import.meta.url);
const { loadConfig } = await import(new URL('config.js', dist).href);
const { startHostlock } = await import(new URL('hostlock.js', dist).href);
const { createLogger } = await import(new URL('log.js', dist).href);

const mb = (bytes) => bytes / 1_048_576;
/** RSS and V8 heap in use, MB, after full collections */
const settled = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed) };
};
/** VmHWM, the peak resident set since the process started or since the last reset. */
const highWaterMb = () => {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
};

const config = loadConfig(process.env);
const hostlock = await startHostlock({
  config,
  databaseUrl: process.env.DATABASE_URL,
  log: createLogger({ level: 'error' }),
  syncOnStart: false,
});
let report;
try {
  if (process.env.BENCH_SYNC_TIME_ONLY === '1') {
    const cpu = machineCpuMs();
    const started = performance.now();
    const outcome = await hostlock.hostsSync.run();
    const wallMs = performance.now() - started;
    report = { wallMs, machineCpuBusyMs: machineCpuMs().busyMs - cpu.busyMs, outcome };
  } else {
    report = await measured();
  }
} finally {
  await hostlock.stop();
}
process.stdout.write(`${JSON.stringify(report)}\n`);
// Agenda leaves an unref-less watchdog timer behind (stack.md §6)
process.exit(0);

async function measured() {
  const boot = settled();
  // "5" resets the peak RSS to the current RSS (proc(5), /proc/pid/clear_refs, Linux ≥ 4.0)
  writeFileSync('/proc/self/clear_refs', '5');
  const cpu = machineCpuMs();
  const started = performance.now();
  const outcome = await hostlock.hostsSync.run();
  const wallMs = performance.now() - started;
  const machineCpuBusyMs = machineCpuMs().busyMs - cpu.busyMs;
  const rssPeakDuringSyncMb = highWaterMb();
  const rssRightAfterMb = mb(process.memoryUsage().rss);
  // hostlock idles as it would between syncs (its engine tick and outbox keep running), until V8's
  // memory reducer has given the sync's heap back (RSS back to the boot figure) or IDLE_MS passed
  const idleFrom = performance.now();
  let rssIdleMb = mb(process.memoryUsage().rss);
  while (performance.now() - idleFrom < IDLE_MS && rssIdleMb > boot.rssMb) {
    await sleep(1_000);
    rssIdleMb = mb(process.memoryUsage().rss);
  }
  const idleMs = Math.round(performance.now() - idleFrom);
  return {
    boot,
    afterSync: settled(),
    rssPeakDuringSyncMb,
    rssRightAfterMb,
    rssIdleMb,
    idleMs,
    wallMs,
    machineCpuBusyMs,
    outcome,
  };
}

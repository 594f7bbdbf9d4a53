import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootBench } from './env.js';
import { measureLookups } from './lookup.js';
import type { Machine } from './report.js';
import { measureFullSync } from './sync.js';

/** Fleet sizes of the growth curve (issue #17, item 5). */
export const GROWTH_SIZES = [10_000, 100_000, 300_000] as const;

export interface GrowthPoint {
  machines: number;
  syncMs: number;
  /** microseconds of sync per machine: flat is the goal (within ±25 % across sizes) */
  syncUsPerMachine: number;
  /** the syncing process's RSS high-water mark during the sync (VmHWM) */
  rssPeakMb: number;
  /** … and once idle after it */
  rssIdleMb: number;
  /** lookup by name, p50 and p99 (hostStore.search, the `/hostlock lookup` path) */
  lookupByName: { p50: number; p99: number };
}

export interface Growth {
  points: GrowthPoint[];
  /** largest ÷ smallest time per machine, and largest − smallest peak RSS */
  timeSpread: number;
  rssSpreadMb: number;
  /** time per machine within ±25 % of the smallest size's, and peak RSS within +50 MB */
  flat: { time: boolean; rss: boolean };
}

/**
 * The sync and a lookup at each size, each on a fresh database and Defender peer (bootBench), the
 * sync in its own process on dist/ as production runs it (measureFullSync).
 */
export async function measureGrowth(
  dir: string,
  cert: { certPath: string; keyPath: string },
  progress: (msg: string) => void,
): Promise<Growth> {
  const points: GrowthPoint[] = [];
  // each size's database lives a level deeper: PostgreSQL's OS user must traverse this one too
  await chmod(dir, 0o711);
  for (const machines of GROWTH_SIZES) {
    progress(`growth: ${machines.toLocaleString('en-US')} machines…`);
    const env = await bootBench({ dir: path.join(dir, `growth-${machines}`), cert, machines });
    try {
      const sync = await measureFullSync(env);
      const [byName] = await measureLookups(env.hostlock.database, {
        fleetSize: machines,
        iterations: 500,
        budgetMs: 5_000,
      });
      points.push({
        machines,
        syncMs: sync.wallMs,
        syncUsPerMachine: (sync.wallMs * 1000) / machines,
        rssPeakMb: sync.rssPeakDuringSyncMb,
        rssIdleMb: sync.rssIdleMb,
        lookupByName: { p50: byName?.search.p50 ?? Number.NaN, p99: byName?.search.p99 ?? Number.NaN },
      });
    } finally {
      await env.close();
    }
  }
  const times = points.map((p) => p.syncUsPerMachine);
  const peaks = points.map((p) => p.rssPeakMb);
  const first = points[0] as GrowthPoint;
  return {
    points,
    timeSpread: Math.max(...times) / Math.min(...times),
    rssSpreadMb: Math.max(...peaks) - Math.min(...peaks),
    flat: {
      time: points.every((p) => Math.abs(p.syncUsPerMachine / first.syncUsPerMachine - 1) <= 0.25),
      rss: points.every((p) => p.rssPeakMb - first.rssPeakMb <= 50),
    },
  };
}

/** The curve as text: one row per size, with bars for time per machine and peak RSS. */
export function renderGrowth(g: Growth, m: Machine): string {
  const maxUs = Math.max(...g.points.map((p) => p.syncUsPerMachine));
  const maxMb = Math.max(...g.points.map((p) => p.rssPeakMb));
  const bar = (v: number, max: number) => '█'.repeat(Math.max(1, Math.round((v / max) * 30)));
  const rows = g.points.map((p) => {
    const n = p.machines.toLocaleString('en-US').padStart(7);
    return [
      `${n}  sync ${(p.syncMs / 1000).toFixed(1).padStart(5)} s  ${p.syncUsPerMachine.toFixed(1).padStart(5)} µs/machine ${bar(p.syncUsPerMachine, maxUs)}`,
      `${' '.repeat(7)}  peak ${p.rssPeakMb.toFixed(0).padStart(5)} MB  idle ${p.rssIdleMb.toFixed(0).padStart(4)} MB  ${bar(p.rssPeakMb, maxMb)}`,
      `${' '.repeat(7)}  lookup by name p50 ${p.lookupByName.p50.toFixed(2)} ms, p99 ${p.lookupByName.p99.toFixed(2)} ms`,
    ].join('\n');
  });
  return [
    `growth (${m.cpus} × ${m.cpuModel}, Node.js ${m.node}):`,
    ...rows,
    `time per machine: largest ÷ smallest ${g.timeSpread.toFixed(2)}× (goal within ±25 %: ${g.flat.time ? 'pass' : 'MISSED'}); ` +
      `peak RSS spread ${g.rssSpreadMb.toFixed(0)} MB (goal ≤ +50 MB: ${g.flat.rss ? 'pass' : 'MISSED'})`,
  ].join('\n');
}

/** Adds the curve to results.json (the rest of the file, from the last full run, is kept). */
export async function writeGrowth(file: string, g: Growth, m: Machine, startedAt: Date): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => '{}');
  const results = JSON.parse(text) as Record<string, unknown>;
  results.growth = { date: startedAt.toISOString(), machine: m, ...g };
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
}

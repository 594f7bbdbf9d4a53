import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DefenderMachine } from '../src/core/defender.js';
import { PAGE_SIZE } from '../src/mde/client.js';
import { machineCpuMs } from './cpu-busy.mjs';
import { MDE_APP } from './defender-peer.js';
import type { BenchEnv } from './env.js';
import { timed } from './stats.js';

const run = promisify(execFile);

export interface SettledMemory {
  rssMb: number;
  heapUsedMb: number;
}

export interface SyncFigures {
  machines: number;
  wallMs: number;
  machinesPerSecond: number;
  listCalls: number;
  /** ⌈N / page size⌉: the fewest calls Defender's paging allows */
  expectedListCalls: number;
  /** RSS and V8 heap in use of the syncing process (built JavaScript, plain node) after boot, after gc */
  boot: SettledMemory;
  /** … and after the sync */
  afterSync: SettledMemory;
  /** CPU time the whole machine spent during the sync (the syncing process, PostgreSQL, the Defender peer) */
  machineCpuBusyMs: number;
  /** the kernel's high-water mark of its RSS during the sync (VmHWM, reset just before) */
  rssPeakDuringSyncMb: number;
  /** RSS as the sync returns, no gc forced */
  rssRightAfterMb: number;
  /** RSS idle after the sync, no gc forced, once back to the boot figure or after 60 s (`idleMs`): what an operator sees */
  rssIdleMb: number;
  idleMs: number;
  peerRssMb: number;
}

const SYNC_PROCESS = fileURLToPath(new URL('./sync-process.mjs', import.meta.url));

/**
 * One full inventory sync of the whole fleet into an empty `hosts`, as the scheduled job runs it
 * in production: in a process of its own running dist/ on plain node (bench/sync-process.mjs),
 * joined to the bench's database and peers, so its RSS is hostlock's alone — not tsx's, nor the
 * bench harness's and Slack peer's, which share this process.
 */
export async function measureFullSync(env: BenchEnv): Promise<SyncFigures> {
  const before = await env.mde.stats();
  const { stdout } = await run(process.execPath, ['--expose-gc', SYNC_PROCESS], {
    env: { ...process.env, ...env.processEnv, NODE_OPTIONS: '' },
    maxBuffer: 1_048_576,
  });
  const { outcome, ...report } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Pick<
    SyncFigures,
    | 'boot'
    | 'afterSync'
    | 'rssPeakDuringSyncMb'
    | 'rssRightAfterMb'
    | 'rssIdleMb'
    | 'idleMs'
    | 'wallMs'
    | 'machineCpuBusyMs'
  > & { outcome: { status: string; result?: { machines: number } } };
  if (outcome.status !== 'ok' || !outcome.result) {
    throw new Error(`the inventory sync did not succeed: ${JSON.stringify(outcome)}`);
  }
  const after = await env.mde.stats();
  const machines = outcome.result.machines;
  if (machines !== env.mde.machines) {
    throw new Error(`the sync stored ${machines} machines; the Defender peer lists ${env.mde.machines}`);
  }
  return {
    ...report,
    machines,
    machinesPerSecond: machines / (report.wallMs / 1000),
    listCalls: after.listCalls - before.listCalls,
    expectedListCalls: Math.ceil(env.mde.machines / PAGE_SIZE),
    peerRssMb: after.rss / 1_048_576,
  };
}

export interface ResyncFigures {
  machines: number;
  /** a second full sync over the rows the first left, Defender's fleet unchanged: every later run */
  wallMs: number;
  /** CPU time the whole machine spent meanwhile (the syncing process, PostgreSQL, the Defender peer) */
  machineCpuBusyMs: number;
}

/**
 * A re-sync as the scheduled job runs it after the first: same process setup as
 * {@link measureFullSync} (dist/ on node), over the `hosts` the first sync filled.
 */
export async function measureResync(env: BenchEnv): Promise<ResyncFigures> {
  const { stdout } = await run(process.execPath, [SYNC_PROCESS], {
    env: { ...process.env, ...env.processEnv, NODE_OPTIONS: '', BENCH_SYNC_TIME_ONLY: '1' },
    maxBuffer: 1_048_576,
  });
  const { outcome, wallMs, machineCpuBusyMs } = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
    wallMs: number;
    machineCpuBusyMs: number;
    outcome: { status: string; result?: { machines: number; gone: number } };
  };
  if (outcome.status !== 'ok' || !outcome.result || outcome.result.gone !== 0) {
    throw new Error(`the re-sync did not succeed as expected: ${JSON.stringify(outcome)}`);
  }
  return { machines: outcome.result.machines, wallMs, machineCpuBusyMs };
}

export interface DefenderReadFigures {
  /** a bare HTTPS client reading every page as text: the peer's serving and transfer time */
  peerServeMs: number;
  /** the same pages' JSON.parse, summed (not part of peerServeMs): what any client reading the records pays */
  parseMs: number;
  /** hostlock's Defender client listing every machine (HTTP, streamed JSON, readMachine, mapping), no database */
  clientListMs: number;
  /** CPU time the whole machine spent during that listing (this process and the Defender peer) */
  clientListCpuBusyMs: number;
  rows: DefenderMachine[];
}

/** How much of a sync is Defender's and the client's, not the database's. */
export async function measureDefenderRead(env: BenchEnv): Promise<DefenderReadFigures> {
  const { serveMs: peerServeMs, parseMs } = await rawDownload(env.mde.url);
  const defender = await env.hostlock.defender.get();
  if (typeof defender === 'string') {
    throw new Error(`hostlock has no Defender client: ${defender}`);
  }
  const cpu = machineCpuMs();
  const { ms, value: rows } = await timed(() => defender.listMachines());
  const clientListCpuBusyMs = machineCpuMs().busyMs - cpu.busyMs;
  return { peerServeMs, parseMs, clientListMs: ms, clientListCpuBusyMs, rows };
}

/**
 * Sum over every page of request → last byte, with no parsing beyond finding the next link; and,
 * timed apart, JSON.parse of each page's text (the least any client reading the records does).
 */
async function rawDownload(base: string): Promise<{ serveMs: number; parseMs: number }> {
  const tokenRes = await fetch(`${base}/${MDE_APP.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: MDE_APP.clientId,
      client_secret: MDE_APP.secret,
      scope: 'https://api.securitycenter.microsoft.com/.default',
    }),
  });
  const token = ((await tokenRes.json()) as { access_token?: string }).access_token;
  if (!token) {
    throw new Error(`the Defender peer issued no token (${tokenRes.status})`);
  }
  let next: string | undefined = `${base}/api/machines?$top=${PAGE_SIZE}`;
  let serveMs = 0;
  let parseMs = 0;
  let records = 0;
  while (next) {
    const started = performance.now();
    const res = await fetch(next, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    serveMs += performance.now() - started;
    if (!res.ok) {
      throw new Error(`GET ${next} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    next = /"@odata\.nextLink":"([^"]+)"/.exec(text.slice(-500))?.[1];
    const parsing = performance.now();
    records += (JSON.parse(text) as { value: unknown[] }).value.length;
    parseMs += performance.now() - parsing;
  }
  if (records === 0) {
    throw new Error('the Defender peer listed no machines');
  }
  return { serveMs, parseMs };
}

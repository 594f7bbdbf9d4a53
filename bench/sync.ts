import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DefenderMachine } from '../src/core/defender.js';
import { PAGE_SIZE } from '../src/mde/client.js';
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
    'boot' | 'afterSync' | 'rssPeakDuringSyncMb' | 'rssRightAfterMb' | 'rssIdleMb' | 'idleMs' | 'wallMs'
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

export interface DefenderReadFigures {
  /** a bare HTTPS client reading every page as text: the peer's serving and transfer time */
  peerServeMs: number;
  /** hostlock's Defender client listing every machine (HTTP, streamed JSON, readMachine, mapping), no database */
  clientListMs: number;
  rows: DefenderMachine[];
}

/** How much of a sync is Defender's and the client's, not the database's. */
export async function measureDefenderRead(env: BenchEnv): Promise<DefenderReadFigures> {
  const peerServeMs = await rawDownloadMs(env.mde.url);
  const defender = await env.hostlock.defender.get();
  if (typeof defender === 'string') {
    throw new Error(`hostlock has no Defender client: ${defender}`);
  }
  const { ms, value: rows } = await timed(() => defender.listMachines());
  return { peerServeMs, clientListMs: ms, rows };
}

/** Sum over every page of request → last byte, with no parsing beyond finding the next link. */
async function rawDownloadMs(base: string): Promise<number> {
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
  let total = 0;
  while (next) {
    const started = performance.now();
    const res = await fetch(next, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    total += performance.now() - started;
    if (!res.ok) {
      throw new Error(`GET ${next} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    next = /"@odata\.nextLink":"([^"]+)"/.exec(text.slice(-500))?.[1];
  }
  return total;
}

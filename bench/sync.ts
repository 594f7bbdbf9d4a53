import type { DefenderMachine } from '../src/core/defender.js';
import { PAGE_SIZE } from '../src/mde/client.js';
import { MDE_APP } from './defender-peer.js';
import type { BenchEnv } from './env.js';
import { rssPeakSampler, settledMemory, timed } from './stats.js';

export interface SyncFigures {
  machines: number;
  wallMs: number;
  machinesPerSecond: number;
  listCalls: number;
  /** ⌈N / page size⌉: the fewest calls Defender's paging allows */
  expectedListCalls: number;
  rssBootMb: number;
  rssAfterSyncMb: number;
  /** process.memoryUsage() after gc, MB */
  memoryBoot: ReturnType<typeof settledMemory>;
  memoryAfterSync: ReturnType<typeof settledMemory>;
  rssPeakDuringSyncMb: number;
  peerRssMb: number;
}

/**
 * One full inventory sync of the whole fleet into an empty `hosts`, as the scheduled job runs it,
 * with RSS settled (gc) before and after and sampled during it.
 */
export async function measureFullSync(env: BenchEnv): Promise<SyncFigures> {
  const boot = settledMemory();
  const before = await env.mde.stats();
  const sampler = rssPeakSampler();
  const { ms, value: outcome } = await timed(() => env.hostlock.hostsSync.run());
  const rssPeakDuringSyncMb = sampler.stop();
  if (outcome.status !== 'ok') {
    throw new Error(`the inventory sync did not succeed: ${JSON.stringify(outcome)}`);
  }
  const synced = settledMemory();
  const after = await env.mde.stats();
  const machines = outcome.result.machines;
  if (machines !== env.mde.machines) {
    throw new Error(`the sync stored ${machines} machines; the Defender peer lists ${env.mde.machines}`);
  }
  return {
    machines,
    wallMs: ms,
    machinesPerSecond: machines / (ms / 1000),
    listCalls: after.listCalls - before.listCalls,
    expectedListCalls: Math.ceil(env.mde.machines / PAGE_SIZE),
    rssBootMb: boot.rssMb,
    rssAfterSyncMb: synced.rssMb,
    memoryBoot: boot,
    memoryAfterSync: synced,
    rssPeakDuringSyncMb,
    peerRssMb: after.rss / 1_048_576,
  };
}

export interface DefenderReadFigures {
  /** a bare HTTPS client reading every page as text: the peer's serving and transfer time */
  peerServeMs: number;
  /** hostlock's Defender client listing every machine (HTTP, JSON, zod, mapping), no database */
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

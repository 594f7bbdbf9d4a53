import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

/** The app registration the peer accepts and hostlock is configured with. */
export const MDE_APP = {
  tenantId: '5e1f0c3a-0000-4000-8000-0000000000aa',
  clientId: '7d2e1b4c-0000-4000-8000-0000000000bb',
  secret: 'MDE_BENCH~client-secret',
  appName: 'hostlock-bench',
} as const;

/** Generated machines are named `${FLEET_PREFIX}-<index>` (test/fakes/mde/machines.ts). */
export const FLEET_PREFIX = 'host';

/** A request as the peer recorded it, without headers; `atMs` is the peer's wall clock on arrival. */
export interface PeerRequest {
  method: string;
  path: string;
  status: number;
  atMs: number;
}

/** An action to seed on the peer (as if hostlock had requested it earlier); Succeeded. */
export interface SeedAction {
  machineId: string;
  type: 'Isolate' | 'Unisolate';
  comment: string;
  /** creation (and completion) time, ms; default now */
  atMs?: number;
}

/** Parent → peer process. */
export type PeerCommand =
  | { op: 'stats' }
  | { op: 'requests'; since: number }
  | { op: 'addActions'; actions: SeedAction[] }
  | { op: 'close' };

/** Peer process → parent. */
export type PeerReply =
  | { type: 'ready'; url: string; machines: number; generateMs: number }
  | { type: 'stats'; listCalls: number; apiCalls: number; rss: number }
  | { type: 'requests'; next: number; requests: PeerRequest[] }
  | { type: 'actionsAdded'; ids: string[] }
  | { type: 'closed' }
  | { type: 'failed'; error: string };

export interface PeerStats {
  /** `GET /api/machines` calls answered so far (the full-list endpoint, every page) */
  listCalls: number;
  apiCalls: number;
  /** the peer process's own RSS, bytes */
  rss: number;
}

/** The Defender peer running in its own process; see defender-peer-main.ts for why. */
export interface DefenderPeerProcess {
  readonly url: string;
  readonly machines: number;
  /** how long generating and loading the fleet took in the peer */
  readonly generateMs: number;
  stats(): Promise<PeerStats>;
  /** the requests recorded from index `since` on, and the index to ask from next time */
  requests(since: number): Promise<{ next: number; requests: PeerRequest[] }>;
  /** seeds Succeeded machine actions; resolves with their ids */
  addActions(actions: SeedAction[]): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Forks test/fakes' Defender peer with `machines` generated hosts, serving TLS with the given
 * PEM files, and waits until it listens.
 */
export async function startDefenderPeerProcess(o: {
  machines: number;
  certPath: string;
  keyPath: string;
}): Promise<DefenderPeerProcess> {
  const child = fork(path.join(import.meta.dirname, 'defender-peer-main.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_PEER_MACHINES: String(o.machines),
      BENCH_PEER_CERT: o.certPath,
      BENCH_PEER_KEY: o.keyPath,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await nextReply(child, 'ready', 120_000);
  return {
    url: ready.url,
    machines: ready.machines,
    generateMs: ready.generateMs,
    async stats() {
      const reply = nextReply(child, 'stats', 10_000);
      child.send({ op: 'stats' } satisfies PeerCommand);
      const { listCalls, apiCalls, rss } = await reply;
      return { listCalls, apiCalls, rss };
    },
    async requests(since) {
      const reply = nextReply(child, 'requests', 10_000);
      child.send({ op: 'requests', since } satisfies PeerCommand);
      const { next, requests } = await reply;
      return { next, requests };
    },
    async addActions(actions) {
      const reply = nextReply(child, 'actionsAdded', 10_000);
      child.send({ op: 'addActions', actions } satisfies PeerCommand);
      return (await reply).ids;
    },
    async close() {
      if (child.exitCode !== null || !child.connected) {
        return;
      }
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ op: 'close' } satisfies PeerCommand);
      await nextReply(child, 'closed', 10_000).catch(() => child.kill('SIGKILL'));
      await exited;
    },
  };
}

function nextReply<T extends PeerReply['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<PeerReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: PeerReply) => {
      if (m.type === 'failed') {
        done();
        reject(new Error(`the Defender peer process failed: ${m.error}`));
      } else if (m.type === type) {
        done();
        resolve(m as Extract<PeerReply, { type: T }>);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(
        new Error(`the Defender peer process exited (code ${code}) while the bench waited for "${type}"`),
      );
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the Defender peer process did not answer "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

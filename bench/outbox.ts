import net from 'node:net';
import os from 'node:os';
import { webApi } from '@slack/bolt';
import { systemClock } from '../src/core/clock.js';
import type { EventName, NotificationEvent } from '../src/core/events.js';
import { newId } from '../src/core/ids.js';
import type { SyslogTarget } from '../src/core/settings/settings.js';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { enqueueEvents } from '../src/db/repos/outbox.js';
import { writeSettings } from '../src/db/repos/settings.js';
import { createLogger } from '../src/log.js';
import { createOutboxWorker } from '../src/notify/outbox-worker.js';
import { createSyslogTransport } from '../src/notify/syslog/transport.js';
import { syslogLineFor } from '../src/notify/syslog-sink.js';
import { HOSTLOCK_VERSION } from '../src/version.js';
import type { BenchEnv } from './env.js';

export interface OutboxFigures {
  /** events enqueued, then delivered by the worker from a standing start */
  n: number;
  format: SyslogTarget['format'];
  framing: 'octet' | 'lf';
  /** outbox worker: start → the receiver has read the n-th frame, ms */
  workerMs: number;
  workerPerSecond: number;
  /** events the receiver got from the worker (each once, in enqueue order when `inOrder`) */
  workerDelivered: number;
  workerDuplicates: number;
  inOrder: boolean;
  /** the same events formatted and sent by a bare syslog transport to the same receiver, ms */
  transportMs: number;
  transportPerSecond: number;
  /** enqueueEvents of the n events in one transaction, ms (not part of either figure) */
  enqueueMs: number;
}

const LIFECYCLE: EventName[] = [
  'lockdown.requested',
  'lockdown.approved',
  'lockdown.locked',
  'lockdown.extended',
  'lockdown.released',
];
const EVENT_ID = /evt_[0-9a-z]{16}/;

/** `n` lifecycle events of n/5 lockdowns, interleaved as a lockdown storm produces them. */
function stormEvents(n: number, tag: string): NotificationEvent[] {
  const lockdowns = Math.max(1, Math.ceil(n / LIFECYCLE.length));
  const base = Date.now() - n * 1_000;
  return Array.from({ length: n }, (_, i) => {
    const k = i % lockdowns;
    const name = LIFECYCLE[Math.floor(i / lockdowns) % LIFECYCLE.length] ?? 'lockdown.requested';
    const at = new Date(base + i * 1_000);
    return {
      id: newId('evt'),
      name,
      at,
      host: {
        name: `host-${tag}-${k}.corp.example.com`,
        machineId: `${tag}${k}`.padEnd(40, '0'),
        ips: [`10.${(k >> 8) & 255}.${k & 255}.7`],
      },
      actor: 'slack:U0BENCHREQ',
      actorName: 'bench-requester',
      lockdown: {
        id: `lck_${tag}${k}`,
        state: name === 'lockdown.released' ? 'released' : 'active',
        durationMinutes: 240,
        reason: 'ransomware beaconing seen by the NDR; isolating while IR investigates',
        expiresAt: new Date(at.getTime() + 4 * 3_600_000),
        lockedAt: at,
        releaseReason: name === 'lockdown.released' ? 'manual' : null,
        source: 'manual',
        requestedBy: 'slack:U0BENCHREQ',
      },
      outcome: 'ok',
    } satisfies NotificationEvent;
  });
}

interface Receiver {
  port: number;
  /** event ids of the frames read since the last `reset`, in arrival order */
  ids(): readonly string[];
  reset(): void;
  /** resolves with performance.now() when `n` frames have been read since the last reset */
  waitFor(n: number, timeoutMs: number): Promise<number | null>;
  close(): Promise<void>;
}

/**
 * A syslog receiver on 127.0.0.1: reads RFC 6587 octet-counted frames (`<len> <msg>`) or
 * LF-terminated lines, whichever each connection sends, and notes each frame's event id.
 */
async function startReceiver(): Promise<Receiver> {
  let ids: string[] = [];
  let waiter: { n: number; resolve: (at: number) => void } | null = null;
  const got = (frame: string) => {
    ids.push(EVENT_ID.exec(frame)?.[0] ?? '');
    if (waiter && ids.length >= waiter.n) {
      const w = waiter;
      waiter = null;
      w.resolve(performance.now());
    }
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let at = 0;
      for (;;) {
        const first = buf[at];
        if (first === undefined) {
          break;
        }
        if (first >= 0x30 && first <= 0x39) {
          const space = buf.indexOf(0x20, at);
          if (space < 0) {
            break;
          }
          const len = Number(buf.toString('latin1', at, space));
          if (buf.length < space + 1 + len) {
            break;
          }
          got(buf.toString('utf8', space + 1, space + 1 + len));
          at = space + 1 + len;
        } else {
          const lf = buf.indexOf(0x0a, at);
          if (lf < 0) {
            break;
          }
          got(buf.toString('utf8', at, lf));
          at = lf + 1;
        }
      }
      buf = buf.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    ids: () => ids,
    reset() {
      ids = [];
    },
    waitFor(n, timeoutMs) {
      if (ids.length >= n) {
        return Promise.resolve(performance.now());
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = null;
          resolve(null);
        }, timeoutMs);
        waiter = {
          n,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
      });
    },
    close() {
      for (const s of sockets) {
        s.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Outbox delivery throughput (issue #7's outbox, issue #9's benchmark): `n` events queued with
 * `enqueueEvents` for one TCP syslog target (CEF, octet-counted), then delivered by a freshly
 * started outbox worker, one row claimed, sent and marked per transaction, as in production; timed
 * from the worker's start to the receiver reading the n-th frame. Baseline: the same events
 * formatted and written by a bare syslog transport to the same receiver, no database. The outbox
 * lives in a database of its own on the bench's PostgreSQL, so hostlock's own worker (which
 * watches hostlock's database) never competes for the rows.
 */
export async function measureOutbox(
  env: BenchEnv,
  o: { n: number; warmup: number; timeoutMs: number },
): Promise<OutboxFigures> {
  const url = await env.newDatabase('hostlock_outbox_bench');
  await runMigrations(url);
  const database: DatabaseHandle = openDatabase(url);
  const receiver = await startReceiver();
  try {
    // every event of the lifecycle, not Vectra's two only
    const target: SyslogTarget = {
      protocol: 'tcp',
      host: '127.0.0.1',
      port: receiver.port,
      format: 'cef',
      profile: 'full',
    };
    const lineOf = (e: NotificationEvent) => {
      const line = syslogLineFor(e, target, identity);
      if (line === null) {
        throw new Error(`bench: no syslog line for ${e.name}`);
      }
      return line;
    };
    await writeSettings(database.db, { syslog_targets: [target] }, 'bench');
    const identity = { hostname: os.hostname(), version: HOSTLOCK_VERSION, procId: String(process.pid) };
    const worker = () =>
      createOutboxWorker({
        database,
        // No Slack sink is configured: a client pointed at a closed port that is never called.
        slack: new webApi.WebClient('xoxb-unused', {
          slackApiUrl: 'http://127.0.0.1:9/api/',
          retryConfig: { retries: 0 },
        }),
        syslog: identity,
        clock: systemClock,
        log: createLogger({ level: 'error', destination: { write: () => {} } }),
        pollMs: 1_000,
      });
    const enqueue = (events: NotificationEvent[]) =>
      database.db.transaction((tx) => enqueueEvents(tx, events));

    // Warm-up, uncounted: the formatter, the transport and the worker's queries once through.
    const warm = stormEvents(o.warmup, 'w');
    const t = createSyslogTransport(target);
    await Promise.all(warm.map((e) => t.send(lineOf(e))));
    await t.close();
    await enqueue(warm);
    const w = worker();
    await w.start();
    if ((await receiver.waitFor(2 * o.warmup, o.timeoutMs)) === null) {
      throw new Error(`bench: the warm-up events did not reach the syslog receiver`);
    }
    await w.stop();

    // Baseline: the same lines, formatted and sent one at a time (as the worker does), no database.
    const events = stormEvents(o.n, 'b');
    receiver.reset();
    const transport = createSyslogTransport(target);
    const t0 = performance.now();
    for (const e of events) {
      await transport.send(lineOf(e));
    }
    const t1 = await receiver.waitFor(o.n, o.timeoutMs);
    await transport.close();
    if (t1 === null) {
      throw new Error(`bench: the bare transport's ${o.n} lines did not all reach the receiver`);
    }

    // The outbox: everything queued first (a storm's backlog), then a worker started from cold.
    receiver.reset();
    const e0 = performance.now();
    if ((await enqueue(events)) !== o.n) {
      throw new Error(`bench: enqueueEvents did not queue ${o.n} rows for the one syslog sink`);
    }
    const enqueueMs = performance.now() - e0;
    const delivering = worker();
    const w0 = performance.now();
    await delivering.start();
    const w1 = await receiver.waitFor(o.n, o.timeoutMs);
    await delivering.stop();
    const got = receiver.ids();
    const firstSeen = [...new Set(got)];
    const workerMs = (w1 ?? performance.now()) - w0;
    const delivered = firstSeen.filter((id) => id !== '').length;
    return {
      n: o.n,
      format: target.format,
      framing: 'octet',
      workerMs,
      workerPerSecond: delivered / (workerMs / 1000),
      workerDelivered: delivered,
      workerDuplicates: got.length - firstSeen.length,
      inOrder: firstSeen.join() === events.map((e) => e.id).join(),
      transportMs: t1 - t0,
      transportPerSecond: o.n / ((t1 - t0) / 1000),
      enqueueMs,
    };
  } finally {
    await receiver.close();
    await database.close();
  }
}

import type { webApi } from '@slack/bolt';
import type { Clock } from '../core/clock.js';
import type { FaultHook } from '../core/faults.js';
import type { ThreadPoster } from '../core/lockdown/thread-note.js';
import type { SyslogTarget } from '../core/settings/settings.js';
import { parseSink } from '../core/sinks.js';
import type { DatabaseHandle } from '../db/client.js';
import { dueSinks, OUTBOX_CHANNEL } from '../db/repos/outbox.js';
import type { Logger } from '../log.js';
import type { EventContext } from './event-context.js';
import { type HeadContext, sendHead } from './outbox-head.js';
import { createPassLoop } from './outbox-loop.js';
import { deliver, type Sinks } from './outbox-sinks.js';
import { createStaleReport } from './outbox-stale.js';
import { createSyslogPool, type SyslogPool } from './outbox-syslog-pool.js';
import type { SyslogIdentity } from './syslog-sink.js';

export interface OutboxWorkerOptions {
  database: DatabaseHandle;
  /** a client of its own: rate-limited calls are rejected (not waited out in the client) */
  slack: webApi.WebClient;
  syslog: SyslogIdentity & { ca?: string };
  clock: Clock;
  log: Logger;
  /** how often due rows are looked for besides the commit notifications; default 1 s */
  pollMs?: number;
  /** undelivered this long, a row is reported in /readyz and the alert channels; default 24 h */
  staleAfterMs?: number;
  /** a row delivered on a stream connection that broke within this long is sent again; default 10 s */
  resendWindowMs?: number;
  /** first wait after a failed attempt; default 1 s */
  retryBaseMs?: number;
  /** crash points of the fault-injection suite (tests only; absent in production) */
  faults?: FaultHook;
  /** posts lockdowns' thread notes (the Slack announcer) */
  thread?: ThreadPoster;
  /** fills syslog lines' person name and link (absent: the actor's id, no link) */
  context?: EventContext;
  /** this instance's address as each syslog target sees it (absent: left empty) */
  sourceAddress?: (target: SyslogTarget) => Promise<string | null>;
}

export { retryDelayMs } from './outbox-head.js';

/** Rows claimed, sent and marked together for a syslog sink (one claim and one mark per batch). */
const SYSLOG_BATCH = 500;
/**
 * Rows (at most) a sink sends in one pass; sinks run side by side, and a pass ends when all have
 * had theirs, so these bound how long a sink that becomes due mid-pass (or the stale report) waits.
 */
const SYSLOG_ROWS_PER_PASS = 5_000;
const SLACK_ROWS_PER_PASS = 500;

export interface OutboxWorker {
  /** Delivers whatever is due now and reports stale rows (tests call it to be deterministic). */
  runOnce(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Delivers outbox rows (issue #7): each sink in row order (so each lockdown's events in the order
 * they happened), its head rows claimed for a lease (see `claimBatch`: no transaction is held
 * across the network, and a crash re-sends at most the rows claimed): one at a time for Slack,
 * up to SYSLOG_BATCH for a syslog target (issue #17: one claim and one mark per batch).
 * A failing row stays at the head with a growing wait (Slack's Retry-After when it gives one); it
 * is never dropped. Rows undelivered for `staleAfterMs` are reported once.
 */
export function createOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const { database, clock, log } = o;
  const db = database.db;
  const syslog = createSyslogPool({
    db,
    clock,
    log,
    ca: o.syslog.ca,
    resendWindowMs: o.resendWindowMs ?? 10_000,
  });
  const head = headContext(o, syslog);
  const reportStale = createStaleReport({
    db,
    clock,
    log,
    slack: o.slack,
    staleAfterMs: o.staleAfterMs ?? 24 * 3_600_000,
  });
  const loop = createPassLoop(() => runOnce(), log);
  // A closure: start and stop share the poll timer and the commit-notification listener.
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  async function drainSink(sink: string): Promise<void> {
    // a syslog target takes a batch of lines in a row; Slack takes one call per row anyway
    const syslogSink = parseSink(sink)?.kind === 'syslog';
    const batch = syslogSink ? SYSLOG_BATCH : 1;
    const rowsPerPass = syslogSink ? SYSLOG_ROWS_PER_PASS : SLACK_ROWS_PER_PASS;
    for (let sent = 0; sent < rowsPerPass && !loop.halted(); sent += batch) {
      await syslog.resendLost(sink);
      const r = await sendHead(head, sink, batch);
      if (r !== 'sent' && r !== 'lost') {
        return;
      }
    }
    loop.requestAgain(); // more left: another pass, after the other sinks have finished theirs
  }

  async function runOnce(forceStaleCheck = false): Promise<void> {
    await syslog.resendAllLost();
    await syslog.closeRemoved();
    const due = await dueSinks(db, clock.now());
    await Promise.all(due.map((s) => drainSink(s)));
    await reportStale(forceStaleCheck);
  }

  return {
    runOnce: async () => {
      await loop.idle();
      await runOnce(true);
    },
    async start() {
      const listener = await database.sql.listen(OUTBOX_CHANNEL, () => loop.kick());
      unlisten = () => listener.unlisten();
      timer = setInterval(() => loop.kick(), o.pollMs ?? 1_000);
      timer.unref();
      loop.kick();
    },
    async stop() {
      loop.halt();
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      await loop.idle();
      await syslog.close();
    },
  };
}

/** What sending a head row needs: Slack and the syslog pool as sinks; the pool is told of stream sends. */
function headContext(o: OutboxWorkerOptions, syslog: SyslogPool): HeadContext {
  const sinks: Sinks = {
    slack: o.slack,
    syslog,
    identity: o.syslog,
    ...(o.thread ? { thread: o.thread } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.sourceAddress ? { sourceAddress: o.sourceAddress } : {}),
    log: o.log,
  };
  return {
    db: o.database.db,
    clock: o.clock,
    log: o.log,
    faults: o.faults,
    retryBaseMs: o.retryBaseMs,
    deliver: (sink, payload) => deliver(sinks, sink, payload),
    remember: (sink, id, connection, at) => syslog.remember(sink, id, connection, at),
  };
}

import type { Clock } from '../core/clock.js';
import { sinksOf } from '../core/sinks.js';
import type { Database } from '../db/client.js';
import { requeue } from '../db/repos/outbox.js';
import { readSettings } from '../db/repos/settings.js';
import type { Logger } from '../log.js';
import { createSyslogTransport, type SyslogTarget, type SyslogTransport } from './syslog/transport.js';

/** A row that went out on a stream connection, and when. */
interface SentRow {
  id: number;
  connection: number;
  at: number;
}

/**
 * The outbox worker's syslog transports, one per sink, and the resend-on-broken-connection
 * bookkeeping: which rows each sink sent on which connection in the last `resendWindowMs`, so the
 * rows sent on a connection that then broke go out again (frames in the receiver's socket buffer
 * are lost with it).
 */
export interface SyslogPool {
  /** Sends a line on the sink's transport (opened on first use); resolves with its connection (0 for UDP). */
  send(sink: string, target: SyslogTarget, line: string): Promise<number>;
  /** Remembers a row sent on a stream connection, before anything else can notice that connection break. */
  remember(sink: string, id: number, connection: number, at: number): void;
  /** Sends again what went out on this sink's stream connections that broke (their frames may be lost). */
  resendLost(sink: string): Promise<void>;
  /** {@link SyslogPool.resendLost} for every sink that has a transport. */
  resendAllLost(): Promise<void>;
  /** Closes connections to syslog targets no longer configured (their queued rows were given up). */
  closeRemoved(): Promise<void>;
  /** Closes every transport (queued sends finish first). */
  close(): Promise<void>;
}

export interface SyslogPoolOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  /** extra PEM CA(s) trusted for TLS targets */
  ca?: string | undefined;
  /** a row sent on a connection that broke within this long is sent again */
  resendWindowMs: number;
}

export function createSyslogPool(o: SyslogPoolOptions): SyslogPool {
  const { db, clock, log, resendWindowMs } = o;
  // A closure: every method reads or updates the same transports and sent-row lists.
  const transports = new Map<string, SyslogTransport>();
  const recent = new Map<string, SentRow[]>();

  const transportFor = (sink: string, target: SyslogTarget) => {
    let t = transports.get(sink);
    if (!t) {
      t = createSyslogTransport({ ...target, ...(o.ca ? { ca: o.ca } : {}) });
      transports.set(sink, t);
    }
    return t;
  };

  const resendLost = async (sink: string): Promise<void> => {
    const lost = transports.get(sink)?.takeLost() ?? [];
    if (lost.length === 0) {
      return;
    }
    const since = clock.now().getTime() - resendWindowMs;
    const sent = recent.get(sink) ?? [];
    const ids = sent.filter((r) => lost.includes(r.connection) && r.at >= since).map((r) => r.id);
    const resent = new Set(ids);
    recent.set(
      sink,
      sent.filter((r) => !resent.has(r.id)),
    );
    const n = await requeue(db, ids, 'connection lost after sending; sent again');
    log.warn({ sink, connections: lost, resent: n }, 'outbox.connection_lost');
  };

  return {
    async send(sink, target, line) {
      const { connection } = await transportFor(sink, target).send(line);
      return connection;
    },
    remember(sink, id, connection, at) {
      let list = recent.get(sink);
      if (!list) {
        list = [];
        recent.set(sink, list);
      }
      // in time order: what fell out of the window is at the front (no pass over the whole list)
      let old = 0;
      while (old < list.length && (list[old] as SentRow).at < at - resendWindowMs) {
        old++;
      }
      if (old > 0) {
        list.splice(0, old);
      }
      list.push({ id, connection, at });
    },
    resendLost,
    async resendAllLost() {
      for (const sink of transports.keys()) {
        await resendLost(sink);
      }
    },
    async closeRemoved() {
      const configured = new Set(sinksOf(await readSettings(db)));
      for (const [sink, t] of transports) {
        if (!configured.has(sink)) {
          transports.delete(sink);
          recent.delete(sink);
          await t.close().catch(() => {});
        }
      }
    },
    async close() {
      await Promise.all([...transports.values()].map((t) => t.close()));
      transports.clear();
    },
  };
}

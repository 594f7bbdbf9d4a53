import { webApi } from '@slack/bolt';
import type { Clock } from '../core/clock.js';
import { type NotificationEvent, parseEventPayload } from '../core/events.js';
import type { FaultHook } from '../core/faults.js';
import { parseSink, sinksOf } from '../core/sinks.js';
import type { DatabaseHandle } from '../db/client.js';
import {
  claimHead,
  dueSinks,
  markDelivered,
  markFailed,
  OUTBOX_CHANNEL,
  requeue,
  takeStale,
} from '../db/repos/outbox.js';
import { readSettings } from '../db/repos/settings.js';
import type { Logger } from '../log.js';
import { alertText } from './slack-alert.js';
import { ConnectionLostError, createSyslogTransport, type SyslogTransport } from './syslog/transport.js';
import { type SyslogIdentity, syslogLineFor } from './syslog-sink.js';

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
}

/**
 * How long a claimed row is held for its send: longer than any send can take (Slack calls time out
 * after 10 s, syslog connects after 10 s and writes after 30 s), so two workers never send it at once.
 */
const LEASE_MS = 60_000;

/** Waits between attempts at one row: `base` (1 s) doubling to 5 min (a sink down for long is tried every 5 min). */
export function retryDelayMs(attempts: number, base = 1_000): number {
  return Math.min(300_000, base * 2 ** Math.min(attempts, 12));
}

class SinkError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface OutboxWorker {
  /** Delivers whatever is due now and reports stale rows (tests call it to be deterministic). */
  runOnce(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Delivers outbox rows (issue #7): each sink in row order (so each lockdown's events in the order
 * they happened), one row claimed at a time for a lease (see `claimHead`: no transaction is held
 * across the network, and a crash re-sends at most the row in flight).
 * A failing row stays at the head with a growing wait (Slack's Retry-After when it gives one); it
 * is never dropped. Rows undelivered for `staleAfterMs` are reported once.
 */
export function createOutboxWorker(o: OutboxWorkerOptions): OutboxWorker {
  const { database, clock, log } = o;
  const db = database.db;
  const staleAfterMs = o.staleAfterMs ?? 24 * 3_600_000;
  const resendWindowMs = o.resendWindowMs ?? 10_000;
  const transports = new Map<string, SyslogTransport>();
  const recent = new Map<string, Array<{ id: number; connection: number; at: number }>>();
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let lastStaleCheck = 0;

  const transportFor = (sink: string, target: Parameters<typeof createSyslogTransport>[0]) => {
    let t = transports.get(sink);
    if (!t) {
      t = createSyslogTransport({ ...target, ...(o.syslog.ca ? { ca: o.syslog.ca } : {}) });
      transports.set(sink, t);
    }
    return t;
  };

  async function deliver(sink: string, e: NotificationEvent): Promise<number> {
    const s = parseSink(sink);
    if (!s) {
      throw new SinkError(`unknown sink ${sink}`);
    }
    if (s.kind === 'slack') {
      try {
        await o.slack.chat.postMessage({
          channel: s.channel,
          text: alertText(e),
          unfurl_links: false,
          unfurl_media: false,
        });
        return 0;
      } catch (err) {
        const x = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
        if (x.code === webApi.ErrorCode.RateLimitedError) {
          throw new SinkError('slack rate limited', (x.retryAfter ?? 1) * 1_000);
        }
        throw new SinkError(`slack ${x.data?.error ?? x.message ?? String(err)}`);
      }
    }
    const line = syslogLineFor(e, s.target, o.syslog);
    const { connection } = await transportFor(sink, s.target).send(line);
    return connection;
  }

  /** Sends again what went out on this sink's stream connections that broke (their frames may be lost). */
  async function resendLost(sink: string): Promise<void> {
    const lost = transports.get(sink)?.takeLost() ?? [];
    if (lost.length === 0) {
      return;
    }
    const since = clock.now().getTime() - resendWindowMs;
    const sent = recent.get(sink) ?? [];
    const ids = sent.filter((r) => lost.includes(r.connection) && r.at >= since).map((r) => r.id);
    recent.set(
      sink,
      sent.filter((r) => !ids.includes(r.id)),
    );
    const n = await requeue(db, ids, 'connection lost after sending; sent again');
    log.warn({ sink, connections: lost, resent: n }, 'outbox.connection_lost');
  }

  /** Remembers a row sent on a stream connection, before anything else can notice that connection break. */
  function remember(sink: string, id: number, connection: number, at: number): void {
    const keepFrom = at - resendWindowMs;
    const list = (recent.get(sink) ?? []).filter((r) => r.at >= keepFrom);
    list.push({ id, connection, at });
    recent.set(sink, list);
  }

  async function sendHead(sink: string): Promise<'sent' | 'failed' | 'lost' | 'busy' | 'idle'> {
    const row = await claimHead(db, sink, clock.now(), LEASE_MS);
    if (row === 'busy' || row === 'idle') {
      return row;
    }
    const e = parseEventPayload(row.payload as Record<string, unknown>);
    const now = clock.now();
    // the row is committed (with the change it reports) and claimed, not sent
    o.faults?.('after_outbox_commit');
    try {
      const connection = await deliver(sink, e);
      o.faults?.('after_sink_send');
      if (connection > 0) {
        remember(sink, row.id, connection, now.getTime());
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A broken connection noticed at this send: nothing went out; the rows sent on it go again
      // first (resendLost, next turn), then this one, at once.
      const wait =
        err instanceof ConnectionLostError
          ? 0
          : Math.max(
              retryDelayMs(row.attempts, o.retryBaseMs),
              err instanceof SinkError ? (err.retryAfterMs ?? 0) : 0,
            );
      await markFailed(db, row, message, new Date(clock.now().getTime() + wait));
      log.warn(
        {
          sink,
          eventId: row.eventId,
          event: row.event,
          attempts: row.attempts + 1,
          retryInMs: wait,
          err: message,
        },
        'outbox.delivery_failed',
      );
      return err instanceof ConnectionLostError ? 'lost' : 'failed';
    }
    if (!(await markDelivered(db, row, clock.now()))) {
      log.warn({ sink, eventId: row.eventId }, 'outbox.lease_lost'); // sent twice: a receiver drops it by event id
    }
    return 'sent';
  }

  async function drainSink(sink: string): Promise<void> {
    for (let i = 0; i < 500 && !stopped; i++) {
      await resendLost(sink);
      const r = await sendHead(sink);
      if (r !== 'sent' && r !== 'lost') {
        return;
      }
    }
    again = true; // more left: come back after the other sinks had their turn
  }

  async function reportStale(force: boolean): Promise<void> {
    const now = clock.now();
    if (!force && now.getTime() - lastStaleCheck < 60_000) {
      return;
    }
    lastStaleCheck = now.getTime();
    const stale = await takeStale(db, now, staleAfterMs);
    for (const s of stale) {
      log.error(
        { sink: s.sink, undelivered: s.count, since: s.since.toISOString(), lastError: s.lastError },
        'outbox.undelivered',
      );
      const sink = parseSink(s.sink);
      const hours = Math.round(staleAfterMs / 3_600_000);
      const text = `:rotating_light: *hostlock could not deliver ${s.count} notification(s) to \`${s.sink.replace(/`/g, "'")}\` for over ${hours} h* (oldest ${s.since.toISOString()}; last error: ${(s.lastError ?? 'none').replace(/[<>&`]/g, ' ').slice(0, 300)}). They are kept and retried.`;
      // Told directly in every alert channel but the failing one; the outbox is what is failing.
      const channels = await alertChannels();
      for (const channel of channels.filter((c) => !(sink?.kind === 'slack' && sink.channel === c))) {
        await o.slack.chat
          .postMessage({ channel, text, unfurl_links: false })
          .catch((err: unknown) => log.error({ err, channel }, 'outbox.stale_report_failed'));
      }
    }
  }

  async function alertChannels(): Promise<string[]> {
    return (await readSettings(db)).alertChannels;
  }

  /** Closes connections to syslog targets no longer configured (their queued rows were given up). */
  async function closeRemoved(): Promise<void> {
    const configured = new Set(sinksOf(await readSettings(db)));
    for (const [sink, t] of transports) {
      if (!configured.has(sink)) {
        transports.delete(sink);
        recent.delete(sink);
        await t.close().catch(() => {});
      }
    }
  }

  async function runOnce(forceStaleCheck = false): Promise<void> {
    for (const sink of transports.keys()) {
      await resendLost(sink);
    }
    await closeRemoved();
    const sinks = await dueSinks(db, clock.now());
    await Promise.all(sinks.map((s) => drainSink(s)));
    await reportStale(forceStaleCheck);
  }

  function kick(): void {
    if (stopped) {
      return;
    }
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await runOnce();
        } catch (err) {
          log.error({ err }, 'outbox.run_failed');
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  }

  return {
    runOnce: async () => {
      while (running) {
        await running;
      }
      await runOnce(true);
    },
    async start() {
      const listener = await database.sql.listen(OUTBOX_CHANNEL, () => kick());
      unlisten = () => listener.unlisten();
      timer = setInterval(kick, o.pollMs ?? 1_000);
      timer.unref();
      kick();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      while (running) {
        await running;
      }
      await Promise.all([...transports.values()].map((t) => t.close()));
      transports.clear();
    },
  };
}

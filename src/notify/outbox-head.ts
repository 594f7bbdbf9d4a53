import type { Clock } from '../core/clock.js';
import type { FaultHook } from '../core/faults.js';
import type { Database } from '../db/client.js';
import { claimBatch, markDelivered, markFailed, type OutboxRow, releaseClaims } from '../db/repos/outbox.js';
import type { Logger } from '../log.js';
import { SinkError } from './outbox-sinks.js';
import { ConnectionLostError } from './syslog/transport.js';

/**
 * How long claimed rows are held for their sends: longer than any one send can take (Slack calls
 * time out after 10 s, syslog connects after 10 s and writes after 30 s), and a batch stops taking
 * new sends at half of it, so two workers never send the same rows at once.
 */
const LEASE_MS = 60_000;

/** Waits between attempts at one row: `base` (1 s) doubling to 5 min (a sink down for long is tried every 5 min). */
export function retryDelayMs(attempts: number, base = 1_000): number {
  return Math.min(300_000, base * 2 ** Math.min(attempts, 12));
}

/** What became of a sink's head rows: `lost` is a failure whose row goes again at once, after the resends. */
export type HeadOutcome = 'sent' | 'failed' | 'lost' | 'busy' | 'idle';

/** What {@link sendHead} works with. */
export interface HeadContext {
  db: Database;
  clock: Clock;
  log: Logger;
  /** crash points of the fault-injection suite (tests only) */
  faults?: FaultHook | undefined;
  /** first wait after a failed attempt; default 1 s */
  retryBaseMs?: number | undefined;
  /** sends the row's payload to the sink; resolves with the stream connection that carried it (0: none) */
  deliver(sink: string, payload: Record<string, unknown>): Promise<number>;
  /** told of each row that went out on a stream connection, at the time it was claimed */
  remember(sink: string, id: number, connection: number, at: number): void;
}

/**
 * Claims the sink's head rows for a lease (up to `max`, in order), sends them one after another,
 * and marks the sent ones delivered in one statement. A send that fails keeps its row at the head,
 * failed with the time of its next attempt, and gives the rows after it back unattempted. No
 * transaction is held across the network (see `claimBatch`).
 */
export async function sendHead(c: HeadContext, sink: string, max = 1): Promise<HeadOutcome> {
  const rows = await claimBatch(c.db, sink, c.clock.now(), LEASE_MS, max);
  if (rows === 'busy' || rows === 'idle') {
    return rows;
  }
  const claimedAt = c.clock.now().getTime();
  // the rows are committed (with the changes they report) and claimed, not sent
  c.faults?.('after_outbox_commit');
  let sent = 0;
  let failure: unknown;
  for (const row of rows) {
    // a slow receiver: stop well inside the lease, so no other worker claims rows still being sent
    if (sent > 0 && c.clock.now().getTime() - claimedAt > LEASE_MS / 2) {
      break;
    }
    try {
      const connection = await c.deliver(sink, row.payload as Record<string, unknown>);
      c.faults?.('after_sink_send');
      if (connection > 0) {
        // when it went out: a connection that breaks within the resend window sends it again
        c.remember(sink, row.id, connection, c.clock.now().getTime());
      }
      sent++;
    } catch (err) {
      failure = err;
      break;
    }
  }
  const delivered = rows.slice(0, sent);
  const marked = await markDelivered(c.db, delivered, c.clock.now());
  if (marked < delivered.length) {
    // sent twice: a receiver drops the copies by event id
    c.log.warn({ sink, rows: delivered.length - marked }, 'outbox.lease_lost');
  }
  if (sent === rows.length) {
    return 'sent';
  }
  if (failure === undefined) {
    await releaseClaims(c.db, rows.slice(sent), c.clock.now()); // out of time: the rest next turn
    return 'sent';
  }
  await releaseClaims(c.db, rows.slice(sent + 1), c.clock.now());
  return await markAttemptFailed(c, sink, rows[sent] as OutboxRow, failure);
}

/** Keeps the row at the head with the wait before its next attempt, and logs why. */
async function markAttemptFailed(
  c: HeadContext,
  sink: string,
  row: OutboxRow,
  err: unknown,
): Promise<'failed' | 'lost'> {
  const message = err instanceof Error ? err.message : String(err);
  const wait = waitAfterFailureMs(err, row.attempts, c.retryBaseMs);
  await markFailed(c.db, row, message, new Date(c.clock.now().getTime() + wait));
  c.log.warn(
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

function waitAfterFailureMs(err: unknown, attempts: number, retryBaseMs: number | undefined): number {
  // A broken connection noticed at this send: nothing went out; the rows sent on it go again
  // first (resendLost, next turn), then this one, at once.
  if (err instanceof ConnectionLostError) {
    return 0;
  }
  return Math.max(
    retryDelayMs(attempts, retryBaseMs),
    err instanceof SinkError ? (err.retryAfterMs ?? 0) : 0,
  );
}

import { webApi } from '@slack/bolt';
import { isNull } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { EventName, NotificationEvent } from '../../src/core/events.js';
import { enqueueEvents } from '../../src/db/repos/outbox.js';
import { writeSettings } from '../../src/db/repos/settings.js';
import { outbox } from '../../src/db/schema.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/notify/outbox-worker.js';
import { type Rsyslog, type RsyslogLine, rsyslogAvailable, startRsyslog } from '../fakes/rsyslog.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// Issue #7: "A TCP receiver stopped for a while then restarted: every event arrives, in order per
// lockdown, none lost; duplicates at most one per crash and recognisable by event id." The real
// outbox (PostgreSQL) and worker against a real rsyslog (test/fakes/rsyslog.ts) that is stopped
// with SIGTERM and started again on the same port.

const LOCKDOWNS = ['ld_a', 'ld_b', 'ld_c'];
const LIFECYCLE: EventName[] = [
  'lockdown.requested',
  'lockdown.approved',
  'lockdown.locked',
  'lockdown.extended',
  'lockdown.released',
];
const PER_BATCH = 15;

/** evt_<n>: lockdowns in turn, each walking through its lifecycle. */
function lifecycleEvent(n: number): NotificationEvent {
  const lockdown = LOCKDOWNS[n % LOCKDOWNS.length] ?? 'ld_a';
  const name = LIFECYCLE[Math.floor(n / LOCKDOWNS.length) % LIFECYCLE.length] ?? 'lockdown.requested';
  const at = new Date(Date.UTC(2024, 5, 3, 12, 0, n));
  return {
    id: `evt_${n}`,
    name,
    at,
    host: { name: `host-${lockdown}`, machineId: lockdown.padEnd(40, '0') },
    actor: 'slack:U012AB3CD',
    lockdown: {
      id: lockdown,
      state: name === 'lockdown.released' ? 'released' : 'locked',
      durationMinutes: 60,
      reason: `test ${n}`,
      expiresAt: new Date(at.getTime() + 3_600_000),
      lockedAt: at,
      releaseReason: null,
    },
    outcome: 'ok',
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Polls `check` until it returns true (deadline, not a sleep, is the synchronisation). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const eventIdOf = (l: RsyslogLine) => (l.parsed.j as { event_id?: string } | undefined)?.event_id;

/** What rsyslog got, by event id: first occurrences in order, copies, ids never seen. */
function analyse(lines: RsyslogLine[], sent: number[]) {
  const mine = lines.filter((l) => eventIdOf(l) !== undefined);
  const ids = mine.map((l) => eventIdOf(l) ?? '');
  const firstSeen = [...new Set(ids)];
  const counts = new Map<string, number>();
  for (const id of ids) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([id]) => id);
  // Copies are the same message as the first one, recognisable by event id.
  for (const id of duplicated) {
    const copies = mine.filter((l) => eventIdOf(l) === id);
    expect(copies.slice(1).every((c) => JSON.stringify(c.parsed) === JSON.stringify(copies[0]?.parsed))).toBe(
      true,
    );
  }
  const lost = sent.filter((n) => !firstSeen.includes(`evt_${n}`));
  return { ids, firstSeen, counts, duplicated, lost, duplicates: ids.length - firstSeen.length };
}

/** Every id present; first occurrences in enqueue order, overall (one sink, row order) and per lockdown. */
function expectInOrder(firstSeen: string[], sent: number[]): void {
  const want = sent.map((n) => `evt_${n}`);
  const at = firstSeen.findIndex((id, i) => id !== want[i]);
  if (at >= 0) {
    console.log(
      `DIFF at ${at}: got ${firstSeen.slice(Math.max(0, at - 3), at + 8).join(',')} want ${want.slice(Math.max(0, at - 3), at + 8).join(',')}`,
    );
  }
  expect(firstSeen).toEqual(sent.map((n) => `evt_${n}`));
  for (const ld of LOCKDOWNS) {
    const events = sent.map(lifecycleEvent).filter((e) => e.lockdown?.id === ld);
    const seen = firstSeen.filter((id) => events.some((e) => e.id === id));
    expect(seen, `order of ${ld}`).toEqual(events.map((e) => e.id));
  }
}

describe.skipIf(!rsyslogAvailable())('outbox → syslog over TCP across a receiver restart (issue #7)', () => {
  let rs: Rsyslog;
  let database: TestDatabase;
  let worker: OutboxWorker;
  let logs: Array<{ msg?: string; resent?: number }>;

  beforeEach(async () => {
    [rs, database] = await Promise.all([startRsyslog(), createTestDatabase()]);
    logs = [];
    await writeSettings(
      database.db,
      {
        syslog_targets: [
          { protocol: 'tcp', host: '127.0.0.1', port: rs.port, format: 'json', profile: 'full' },
        ],
      },
      'test',
    );
    worker = createOutboxWorker({
      database,
      // No Slack sink is configured: a client pointed at a closed port that is never called.
      slack: new webApi.WebClient('xoxb-unused', {
        slackApiUrl: 'http://127.0.0.1:9/api/',
        retryConfig: { retries: 0 },
      }),
      syslog: { hostname: 'h', version: '0.1.0' },
      clock: systemClock,
      log: pino({ level: 'warn' }, { write: (s: string) => logs.push(JSON.parse(s)) }),
      pollMs: 50,
      resendWindowMs: 10_000,
    });
  });
  afterEach(async () => {
    await worker?.stop();
    await Promise.all([rs?.dispose(), database?.dispose()]);
  });

  const received = async () => new Set((await rs.lines()).map(eventIdOf));
  const hasAll = (ns: number[]) => async () => {
    const got = await received();
    return ns.every((n) => got.has(`evt_${n}`));
  };
  const allDelivered = async () =>
    (await database.db.select({ id: outbox.id }).from(outbox).where(isNull(outbox.deliveredAt))).length === 0;

  async function report(label: string, sent: number[]) {
    const r = analyse(await rs.lines(), sent);
    const lostWarnings = logs.filter((l) => l.msg === 'outbox.connection_lost');
    console.log(
      `${label}: sent ${sent.length}, received ${r.ids.length}, duplicates ${r.duplicates}, lost ${r.lost.length}` +
        ` (connection_lost warnings ${lostWarnings.length}, rows re-queued ${lostWarnings.reduce((s, l) => s + (l.resent ?? 0), 0)},` +
        ` failed attempts ${logs.filter((l) => l.msg === 'outbox.delivery_failed').length})`,
    );
    expect(r.lost).toEqual([]);
    expectInOrder(r.firstSeen, sent);
    // Every row ends delivered, with no error left on it and nothing reported stale.
    const rows = await database.db.select().from(outbox);
    expect(rows).toHaveLength(sent.length);
    expect(
      rows.filter((x) => x.deliveredAt === null || x.lastError !== null || x.staleReportedAt !== null),
    ).toEqual([]);
    return r;
  }

  it('receiver stopped between batches: none lost, in order, duplicates only of the broken connection', async () => {
    const { db } = database;
    // 1. First batch, receiver up.
    const first = range(1, PER_BATCH);
    expect(await enqueueEvents(db, first.map(lifecycleEvent))).toBe(PER_BATCH);
    await worker.start();
    await until(hasAll(first), 'the first batch at rsyslog');

    // 2. Receiver stopped; second batch queued while it is down: undelivered, retried with an error.
    await rs.stop();
    const second = range(PER_BATCH + 1, 2 * PER_BATCH);
    expect(await enqueueEvents(db, second.map(lifecycleEvent))).toBe(PER_BATCH);
    await until(async () => {
      const pending = await db
        .select({ eventId: outbox.eventId, lastError: outbox.lastError })
        .from(outbox)
        .where(isNull(outbox.deliveredAt));
      const ids = new Set(pending.map((r) => r.eventId));
      return (
        second.every((n) => ids.has(`evt_${n}`)) &&
        pending.some((r) => r.lastError?.includes('connect failed'))
      );
    }, 'the second batch undelivered and a failed connect recorded while rsyslog is down');

    // 3. Receiver back on the same port: everything arrives, the outbox drains.
    await rs.restart();
    const all = [...first, ...second];
    await until(hasAll(all), 'every event at rsyslog after the restart');
    await until(allDelivered, 'every outbox row delivered');
    const r = await report('restart between batches', all);
    // Re-sent: what went out on the connection the stop broke (within resendWindowMs), once each.
    for (const id of r.duplicated) {
      expect(r.counts.get(id), `copies of ${id}`).toBe(2);
      expect(first.map((n) => `evt_${n}`)).toContain(id);
    }
  });

  it('receiver stopped in the middle of a stream: none lost, in order, at most one copy more', async () => {
    // enough that the stream is still going when rsyslog stops (a batch of 500 leaves in ~0.1 s)
    const all = range(1, 5_000);
    expect(await enqueueEvents(database.db, all.map(lifecycleEvent))).toBe(all.length);
    await worker.start();
    await rs.waitForLines(40);
    await rs.stop();
    const beforeStop = analyse(await rs.lines(), all).firstSeen.length;
    expect(beforeStop).toBeLessThan(all.length); // the stop really cut the stream
    await rs.restart();
    await until(hasAll(all), 'every event at rsyslog after the restart');
    await until(allDelivered, 'every outbox row delivered');
    const r = await report(`restart mid-stream (after ${beforeStop} events)`, all);
    // at most one extra copy per broken connection (a restarting receiver may drop one more)
    const breaks = logs.filter((l) => l.msg === 'outbox.connection_lost').length;
    expect(r.duplicated.every((id) => (r.counts.get(id) ?? 0) <= 1 + breaks)).toBe(true);
  });
});

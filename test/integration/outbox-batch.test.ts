import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outbox } from '../../src/db/schema.js';
import { createLogger } from '../../src/log.js';
import { type HeadContext, sendHead } from '../../src/notify/outbox-head.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// A syslog sink's rows go out in batches under one lease (issue #17). The batch must never outlive
// its lease: a slow receiver makes it stop at half the lease and give the rest back, so no other
// worker claims rows still being sent; a failed send keeps its row at the head and gives back the
// rows after it; the sent rows are marked once, and each is remembered at the time it went out.

const SINK = 'syslog:tcp://127.0.0.1:6514';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.dispose());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  await db.db.insert(outbox).values(
    Array.from({ length: 10 }, (_, i) => ({
      eventId: `evt_${i}`,
      event: 'lockdown.locked',
      sink: SINK,
      payload: { n: i },
      nextAttemptAt: new Date(Date.now() - 1_000),
    })),
  );
});

/** A worker's context on a clock the test moves: each send takes `sendMs` of it. */
function context(o: { sendMs: number; failAt?: number }) {
  let now = Date.now();
  const sent: number[] = [];
  const remembered: Array<{ n: number; at: number }> = [];
  const c: HeadContext = {
    db: db.db,
    clock: { now: () => new Date(now) },
    log: createLogger({ level: 'error' }),
    retryBaseMs: 1_000,
    async deliver(_sink, payload) {
      const n = payload.n as number;
      now += o.sendMs;
      if (n === o.failAt) {
        throw new Error('receiver refused');
      }
      sent.push(n);
      return 1;
    },
    remember: (_sink, id, _connection, at) => remembered.push({ n: id, at }),
  };
  return { c, sent, remembered, now: () => now };
}

const rows = () =>
  db.sql<{ n: number; delivered: boolean; next: number; attempts: number }[]>`
    select (payload->>'n')::int as n, delivered_at is not null as delivered, (extract(epoch from next_attempt_at) * 1000)::float8 as next, attempts
    from outbox order by id`;

describe('a syslog batch', () => {
  it('stops taking sends at half its 60 s lease and gives the rest back, due at once', async () => {
    const w = context({ sendMs: 11_000 }); // a receiver that takes 11 s a line
    expect(await sendHead(w.c, SINK, 500)).toBe('sent');
    // sends start at 0, 11, 22 s; at 33 s the batch is past 30 s and stops
    expect(w.sent).toEqual([0, 1, 2]);
    const after = await rows();
    expect(after.filter((r) => r.delivered).map((r) => r.n)).toEqual([0, 1, 2]);
    const rest = after.filter((r) => !r.delivered);
    expect(rest.map((r) => r.n)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    // given back: claimable now, not after the lease another worker would have to wait out
    expect(rest.every((r) => r.next <= w.now() && r.attempts === 0)).toBe(true);
    // each remembered when it went out, not when the batch was claimed
    const claimed = w.remembered[0]?.at ?? 0;
    expect(w.remembered.map((r) => r.at - claimed)).toEqual([0, 11_000, 22_000]);
  });

  it('keeps a failed row at the head with its wait, and gives back the rows after it unattempted', async () => {
    const w = context({ sendMs: 10, failAt: 4 });
    expect(await sendHead(w.c, SINK, 500)).toBe('failed');
    const after = await rows();
    expect(after.filter((r) => r.delivered).map((r) => r.n)).toEqual([0, 1, 2, 3]);
    const failed = after.find((r) => r.n === 4);
    expect(failed?.attempts).toBe(1);
    expect(failed?.next).toBeGreaterThan(w.now());
    const rest = after.filter((r) => r.n > 4);
    expect(rest.every((r) => !r.delivered && r.attempts === 0 && r.next <= w.now())).toBe(true);
    // the next batch starts at the failed row, once its wait is over: order is kept
    expect(await sendHead(w.c, SINK, 500)).toBe('idle');
  });
});

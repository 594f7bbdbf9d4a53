import { sql } from 'drizzle-orm';
import {
  type CallCaps,
  type CallLedger,
  HOUR_WINDOW_MS,
  MINUTE_WINDOW_MS,
} from '../../core/defender-budget.js';
import type { Database } from '../client.js';
import { LOCK_NOT_AVAILABLE, pgCode } from '../pg-errors.js';

type Row = Record<string, unknown>;
const ms = (v: unknown) => Number(v);

/**
 * Defender calls of every replica in PostgreSQL (issue #15, item 8): one row per call of the last
 * hour in `mde_calls`, and Defender's last "wait" in the single `mde_budget` row. A take locks that
 * row (FOR UPDATE), so concurrent takes of all replicas are serialised for the few milliseconds
 * they last; time is the database's clock, the one clock every replica shares.
 */
export function mdeCallLedger(db: Database): CallLedger {
  return {
    async take(n, caps) {
      try {
        return await db.transaction((tx) => take(tx, n, caps));
      } catch (e) {
        if (pgCode(e) === LOCK_NOT_AVAILABLE) {
          // another replica holds the budget row for long (frozen mid-take?): try again shortly
          return { taken: false, retryInMs: 1_000 };
        }
        throw e;
      }
    },
    async giveBack(ids) {
      const list = ids.map(Number).filter(Number.isSafeInteger);
      if (list.length) {
        await db.execute(
          sql`delete from mde_calls where id = any(${sql.raw(`'{${list.join(',')}}'::bigint[]`)})`,
        );
      }
    },
    async pauseUntil(untilMs) {
      await db.execute(sql`
        update mde_budget set paused_until = greatest(coalesce(paused_until, to_timestamp(0)), to_timestamp(${untilMs / 1000}))
        where id = 1`);
    },
  };
}

async function take(tx: Database, n: number, caps: CallCaps) {
  // A take lasts milliseconds. A replica frozen in the middle of one (SIGSTOP, a paused VM) must
  // not hold every replica's Defender calls: others give up waiting for the row after 2 s, and the
  // frozen session is ended by the server after 10 s idle in the transaction.
  await tx.execute(sql`
    select set_config('lock_timeout', '2s', true), set_config('idle_in_transaction_session_timeout', '10s', true)`);
  const [head] = await tx.execute<Row>(sql`
    select (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms,
           (extract(epoch from coalesce(paused_until, to_timestamp(0))) * 1000)::float8 as paused_ms
    from mde_budget where id = 1 for update`);
  if (!head) {
    throw new Error('the mde_budget row is missing (migration 0010)');
  }
  const now = ms(head.now_ms);
  if (ms(head.paused_ms) > now) {
    return { taken: false as const, retryInMs: Math.ceil(ms(head.paused_ms) - now) };
  }
  const hourStart = sql`${new Date(now - HOUR_WINDOW_MS).toISOString()}::timestamptz`;
  const minuteStart = sql`${new Date(now - MINUTE_WINDOW_MS).toISOString()}::timestamptz`;
  await tx.execute(sql`delete from mde_calls where at <= ${hourStart}`);
  if (n > caps.perMinute || n > caps.perHour) {
    throw new RangeError(`${n} calls at once exceed the budget (${caps.perMinute}/min, ${caps.perHour}/h)`);
  }
  const [w] = await tx.execute<Row>(sql`
    select count(*) filter (where at > ${minuteStart})::int as minute_calls, count(*)::int as hour_calls
    from mde_calls`);
  const overMinute = ms(w?.minute_calls) + n > caps.perMinute;
  const overHour = ms(w?.hour_calls) + n > caps.perHour;
  if (overMinute || overHour) {
    // the call that must age out before n more fit in each full window: the (cap - n + 1)-th newest
    const [b] = await tx.execute<Row>(sql`
      select
        (select extract(epoch from at) * 1000 from mde_calls where at > ${minuteStart}
          order by at desc offset ${caps.perMinute - n} limit 1)::float8 as minute_blocker,
        (select extract(epoch from at) * 1000 from mde_calls
          order by at desc offset ${caps.perHour - n} limit 1)::float8 as hour_blocker`);
    const waits = [
      overMinute ? ms(b?.minute_blocker) + MINUTE_WINDOW_MS - now : 0,
      overHour ? ms(b?.hour_blocker) + HOUR_WINDOW_MS - now : 0,
    ];
    return { taken: false as const, retryInMs: Math.max(1, Math.ceil(Math.max(...waits))) };
  }
  const rows = await tx.execute<Row>(sql`
    insert into mde_calls (at) select to_timestamp(${now / 1000}) from generate_series(1, ${n})
    returning id::text as id`);
  return { taken: true as const, ids: rows.map((r) => String(r.id)) };
}

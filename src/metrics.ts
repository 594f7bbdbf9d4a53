import { sql } from 'drizzle-orm';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Readiness } from './api/server.js';
import type { Clock } from './core/clock.js';
import type { Database, DatabaseHandle } from './db/client.js';
import { defenderReadiness } from './db/repos/defender-state.js';
import { outboxStats } from './db/repos/outbox.js';
import { inventoryReadiness } from './jobs/hosts-sync.js';
import type { SlackStatus } from './slack/identity.js';

// Mostly metric declarations, one per statement; the scrape-time reads are the only logic.
/**
 * Prometheus metrics (issue #9), one registry per hostlock instance. Counters and histograms are
 * fed where things happen (Defender calls, Slack acks); gauges about rows (lockdowns by state,
 * outbox backlog, overdue timers, the last inventory run) are read from PostgreSQL at scrape
 * time, so every replica reports the same truth.
 */
export function createMetrics(db: Database) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hostlock_' }); // hostlock_process_*, hostlock_nodejs_*

  const defenderCalls = new Counter({
    name: 'hostlock_defender_calls_total',
    help: 'Defender API attempts by method and outcome (2xx, 4xx, 429, 5xx, network)',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const defenderSeconds = new Histogram({
    name: 'hostlock_defender_call_seconds',
    help: 'Defender API attempt latency',
    labelNames: ['method'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const defenderThrottled = new Counter({
    name: 'hostlock_defender_throttled_total',
    help: 'Defender answers 429 Too Many Requests',
    registers: [registry],
  });
  const slackAckSeconds = new Histogram({
    name: 'hostlock_slack_ack_seconds',
    help: 'time from a Slack request (command, click, submission, event) to our HTTP answer',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
    registers: [registry],
  });

  const lockdowns = new Gauge({
    name: 'hostlock_lockdowns',
    help: 'lockdowns by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.execute<{ state: string; n: number }>(
        sql`select state, count(*)::int as n from lockdowns group by state`,
      );
      this.reset();
      for (const r of rows) {
        this.set({ state: r.state }, r.n);
      }
    },
  });
  const outboxPending = new Gauge({
    name: 'hostlock_outbox_pending',
    help: 'notifications not yet delivered, by sink kind (slack, syslog)',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.execute<{ kind: string; n: number }>(sql`
        select split_part(sink, ':', 1) as kind, count(*)::int as n
        from outbox where delivered_at is null group by 1`);
      this.reset();
      this.set({ sink: 'slack' }, 0);
      this.set({ sink: 'syslog' }, 0);
      for (const r of rows) {
        this.set({ sink: r.kind }, r.n);
      }
    },
  });
  const outboxAge = new Gauge({
    name: 'hostlock_outbox_oldest_seconds',
    help: 'age of the oldest undelivered notification (0 when none)',
    registers: [registry],
    async collect() {
      const [r] = await db.execute<{ s: number | null }>(sql`
        select extract(epoch from now() - min(created_at))::float8 as s from outbox where delivered_at is null`);
      this.set(r?.s ?? 0);
    },
  });
  const jobLag = new Gauge({
    name: 'hostlock_lockdown_overdue_seconds',
    help: 'how long the most overdue lockdown step (release, isolation check, expiry) has been waiting (0 when none)',
    registers: [registry],
    async collect() {
      const [r] = await db.execute<{ s: number | null }>(sql`
        select extract(epoch from now() - min(next_check_at))::float8 as s from lockdowns
        where next_check_at <= now()
          and state in ('pending_approval', 'approved', 'isolating', 'active', 'releasing')`);
      this.set(Math.max(0, r?.s ?? 0));
    },
  });
  const inventoryAge = new Gauge({
    name: 'hostlock_inventory_last_success_seconds',
    help: 'seconds since the last successful inventory sync (-1 when none yet)',
    registers: [registry],
    async collect() {
      const [r] = await db.execute<{ s: number | null }>(sql`
        select extract(epoch from now() - last_success_at)::float8 as s from inventory_sync where id = 1`);
      this.set(r?.s ?? -1);
    },
  });
  void [lockdowns, outboxPending, outboxAge, jobLag, inventoryAge];

  return {
    registry,
    defenderCall(o: { method: string; status: number | 'network'; ms: number }): void {
      const outcome =
        o.status === 'network' ? 'network' : o.status === 429 ? '429' : `${String(o.status).slice(0, 1)}xx`;
      defenderCalls.inc({ method: o.method, outcome });
      defenderSeconds.observe({ method: o.method }, o.ms / 1000);
      if (o.status === 429) {
        defenderThrottled.inc();
      }
    },
    slackAck(seconds: number): void {
      slackAckSeconds.observe(seconds);
    },
    /** The text exposition (Prometheus 0.0.4) and its content type. */
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** /readyz: the database, Slack, Defender and the inventory; a SIEM that is down is reported, not counted. */
export function readinessOf(o: {
  database: DatabaseHandle;
  slack: { status(): SlackStatus };
  /** whether requests reached the approvers lately: detail only, it does not make hostlock unready */
  approvals?: { approvalStatus(): { ok: boolean; problem?: string; at?: string } };
  clock: Clock;
  /** undelivered this long, an outbox row is reported */
  staleAfterMs: number;
}): () => Promise<Readiness> {
  const { database, slack, clock } = o;
  return async () => {
    const db = await database.ping();
    const s = slack.status();
    const mde = db ? await defenderReadiness(database.db) : { ok: false, state: 'unknown' };
    const inventory = db ? await inventoryReadiness(database) : { ok: false, lastSuccessAt: null };
    const staleMs = o.staleAfterMs;
    const backlog = db ? await outboxStats(database.db, clock.now(), staleMs) : null;
    const notifications = backlog
      ? { ok: Object.keys(backlog.stale).length === 0, ...backlog, staleAfterHours: staleMs / 3_600_000 }
      : { ok: false };
    return {
      // Ready means "can serve" (issue #16, item 6): a fresh replica must become ready so an admin
      // can configure Defender from Slack through it. Defender, the inventory, the outbox and the
      // approvals are reported in the details, not in the verdict.
      ready: db && s.ok,
      checks: {
        database: { ok: db },
        slack: s,
        defender: mde,
        inventory,
        notifications,
        approvals: o.approvals?.approvalStatus() ?? { ok: true },
      },
    };
  };
}

/** Readiness is computed at most once a second, however often probes and scrapes ask. */
export const READINESS_CACHE_MS = 1_000;

/** `fn`'s answer, shared by every caller for `ms` after it settles. */
export function cached<T>(fn: () => Promise<T>, ms: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ms) {
      last = { at: now, value: fn() };
      last.value.catch(() => {
        last = undefined; // a failure is not remembered
      });
    }
    return last.value;
  };
}

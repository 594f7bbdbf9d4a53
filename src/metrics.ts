import { sql } from 'drizzle-orm';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Readiness } from './api/server.js';
import type { Clock } from './core/clock.js';
import type { Database, DatabaseHandle } from './db/client.js';
import { defenderReadiness } from './db/repos/defender-state.js';
import { outboxStats } from './db/repos/outbox.js';
import { inventoryReadiness } from './jobs/hosts-sync.js';
import type { SlackStatus } from './slack/identity.js';
import { HOSTLOCK_VERSION } from './version.js';

// Mostly metric declarations, one per statement; the scrape-time reads are the only logic.
/**
 * Prometheus metrics (issue #9), one registry per hostlock instance. Counters and histograms are
 * fed where things happen (Defender calls, Slack acks); gauges about rows (lockdowns by state,
 * outbox backlog, overdue timers, the last inventory run) are read from PostgreSQL at scrape
 * time, so every replica reports the same truth.
 */
export function createMetrics(db: Database) {
  const registry = new Registry();
  // the exporter conventions: process_* and nodejs_* without our prefix (issue #16, item 7)
  collectDefaultMetrics({ register: registry });

  const buildInfo = new Gauge({
    name: 'hostlock_build_info',
    help: 'always 1; the labels say which hostlock and Node.js run',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: HOSTLOCK_VERSION, node: process.versions.node }, 1);
  const dependencyUp = new Gauge({
    name: 'hostlock_dependency_up',
    help: '1 when the dependency answered at this scrape, else 0 (its derived series are left out)',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
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
  const slackCommands = new Counter({
    name: 'hostlock_slack_commands_total',
    help: '/hostlock subcommands received, by subcommand (unknown ones as "unknown")',
    labelNames: ['command'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'hostlock_http_requests_total',
    help: 'HTTP requests on the public port by route (a fixed set) and status code',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });

  // Read from PostgreSQL at scrape time (every replica reports the same truth); left out, with
  // hostlock_dependency_up{dependency="database"} 0, when the database does not answer.
  const lockdowns = new Gauge({
    name: 'hostlock_lockdowns',
    help: 'lockdowns by state',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const outboxPending = new Gauge({
    name: 'hostlock_outbox_pending',
    help: 'notifications not yet delivered, by sink kind (slack, syslog, thread)',
    labelNames: ['sink'] as const,
    registers: [registry],
  });
  const outboxAge = new Gauge({
    name: 'hostlock_outbox_oldest_seconds',
    help: 'age of the oldest undelivered notification (0 when none)',
    registers: [registry],
  });
  const jobLag = new Gauge({
    name: 'hostlock_lockdown_overdue_seconds',
    help: 'how long the most overdue lockdown step (release, isolation check, expiry) has been waiting (0 when none)',
    registers: [registry],
  });
  const inventorySuccess = new Gauge({
    name: 'hostlock_inventory_last_success_timestamp_seconds',
    help: 'when the last inventory sync succeeded (Unix time; absent before the first)',
    registers: [registry],
  });
  const fromDatabase = [lockdowns, outboxPending, outboxAge, jobLag, inventorySuccess];

  async function readDatabase(): Promise<void> {
    const [states, pending, oldest, overdue, inventory] = await Promise.all([
      db.execute<{ state: string; n: number }>(
        sql`select state, count(*)::int as n from lockdowns group by state`,
      ),
      db.execute<{ kind: string; n: number }>(sql`
        select split_part(sink, ':', 1) as kind, count(*)::int as n
        from outbox where delivered_at is null group by 1`),
      db.execute<{ s: number | null }>(sql`
        select extract(epoch from now() - min(created_at))::float8 as s from outbox where delivered_at is null`),
      db.execute<{ s: number | null }>(sql`
        select extract(epoch from now() - min(next_check_at))::float8 as s from lockdowns
        where next_check_at <= now()
          and state in ('pending_approval', 'approved', 'isolating', 'active', 'releasing')`),
      db.execute<{ t: number | null }>(sql`
        select extract(epoch from last_success_at)::float8 as t from inventory_sync where id = 1`),
    ]);
    for (const g of fromDatabase) {
      g.reset();
    }
    for (const r of states) {
      lockdowns.set({ state: r.state }, r.n);
    }
    for (const kind of ['slack', 'syslog', 'thread']) {
      outboxPending.set({ sink: kind }, 0);
    }
    for (const r of pending) {
      outboxPending.set({ sink: r.kind }, r.n);
    }
    outboxAge.set(oldest[0]?.s ?? 0);
    jobLag.set(Math.max(0, overdue[0]?.s ?? 0));
    const t = inventory[0]?.t;
    if (typeof t === 'number') {
      inventorySuccess.set(t);
    }
  }

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
    slackCommand(command: string): void {
      slackCommands.inc({ command });
    },
    httpRequest(route: string, status: number): void {
      httpRequests.inc({ route, status: String(status) });
    },
    /**
     * The text exposition (Prometheus 0.0.4) and its content type. A database that does not answer
     * never fails the scrape: its series are left out and hostlock_dependency_up says so.
     */
    async render(): Promise<{ contentType: string; body: string }> {
      try {
        await readDatabase();
        dependencyUp.set({ dependency: 'database' }, 1);
      } catch {
        for (const g of fromDatabase) {
          g.reset();
        }
        dependencyUp.set({ dependency: 'database' }, 0);
      }
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

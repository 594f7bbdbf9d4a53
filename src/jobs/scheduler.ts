import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import type { Logger } from '../log.js';

export interface Scheduler {
  readonly agenda: Agenda;
  start(): Promise<void>;
  /**
   * Stops taking jobs and waits up to `timeoutMs` for running ones, then disconnects. A job still
   * running then keeps its lock and is taken up again by another worker after its lock lifetime.
   */
  drain(timeoutMs: number): Promise<{ completed: number; running: number }>;
}

export interface SchedulerOptions {
  databaseUrl: string;
  log: Logger;
  /** shown in agenda_jobs.last_modified_by / locks; default hostlock-<pid> */
  name?: string;
  processEvery?: string;
  /**
   * A job running longer than this may be claimed by another worker (Agenda is at-least-once,
   * reliability.md §1.1): jobs must be idempotent and long ones must touch() their lock.
   */
  lockLifetimeMs?: number;
}

/**
 * Agenda 6 on the same PostgreSQL as everything else, through its own small node-postgres pool
 * (the backend cannot share postgres.js). Jobs are triggers only: the rows decide what happens.
 */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  // >= 2 connections: the LISTEN channel keeps one for itself.
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4, application_name: 'hostlock-jobs' });
  pool.on('error', (e) => opts.log.warn({ err: e }, 'jobs.pool_error'));
  // Agenda's constructor connects its backend at once, outside any lock: with ensureSchema the
  // tables would be created there, racing other replicas started at the same instant (CREATE …
  // IF NOT EXISTS is not concurrency-safe: "type agenda_logs already exists"). The schema is
  // created in start(), under an advisory lock, by a backend that exists only for that.
  const backend = new PostgresBackend({ pool, tableName: 'agenda_jobs', ensureSchema: false });
  // The LISTEN channel reports a lost connection (a database restart, pg_terminate_backend) as an
  // 'error' event, then reconnects by itself; with no listener that event would end the process.
  backend.notificationChannel?.on('error', (e) => opts.log.warn({ err: e }, 'jobs.listen_error'));
  backend.notificationChannel?.on('stateChange', (state) => opts.log.info({ state }, 'jobs.listen_state'));
  const agenda = new Agenda({
    backend,
    name: opts.name ?? `hostlock-${process.pid}`,
    processEvery: opts.processEvery ?? '5 seconds',
    defaultConcurrency: 5,
    defaultLockLifetime: opts.lockLifetimeMs ?? 2 * 60_000,
  });
  agenda.on('error', (e: unknown) => opts.log.error({ err: e }, 'jobs.error'));
  agenda.on('fail', (e: unknown, job: { attrs: { name: string; _id?: unknown } }) =>
    opts.log.error({ err: e, job: job.attrs.name }, 'jobs.failed'),
  );
  let stopped = false;
  return {
    agenda,
    // Agenda creates its table with CREATE … IF NOT EXISTS, which races when replicas start together
    // on a fresh database (the loser dies on a duplicate key): one start at a time.
    async start() {
      const client = await pool.connect();
      try {
        await client.query("select pg_advisory_lock(hashtextextended('hostlock.agenda_start', 0))");
        // creates agenda_jobs, agenda_logs and their indexes if missing; the pool is ours, so this
        // backend neither opens a LISTEN connection (that is Agenda.start's) nor closes the pool
        await new PostgresBackend({ pool, tableName: 'agenda_jobs', disableNotifications: true }).connect();
        await agenda.start();
      } finally {
        await client
          .query("select pg_advisory_unlock(hashtextextended('hostlock.agenda_start', 0))")
          .catch(() => {});
        client.release();
      }
    },
    async drain(timeoutMs) {
      if (stopped) {
        return { completed: 0, running: 0 };
      }
      stopped = true;
      // Agenda 6.2.6 re-checks its running list one tick after a job's 'complete', but a finished
      // one-shot job leaves that list only after its row is removed: when the last job ends that
      // way, drain() waits out the whole timeout. Polling the running count ends it on time.
      const idle = new AbortController();
      let polling = false;
      const poll = setInterval(() => {
        if (polling) {
          return; // a slow database: one count at a time, never a queue of them
        }
        polling = true;
        agenda
          .getRunningStats()
          .then((st) => {
            const running = Array.isArray(st.runningJobs) ? st.runningJobs.length : st.runningJobs;
            if (running === 0) {
              idle.abort();
            }
          })
          .catch(() => {})
          .finally(() => {
            polling = false;
          });
      }, 50);
      try {
        const r = await agenda.drain({ timeout: timeoutMs, signal: idle.signal });
        opts.log.info({ completed: r.completed, running: r.running, timedOut: r.timedOut }, 'jobs.drained');
        return { completed: r.completed, running: r.aborted ? 0 : r.running };
      } finally {
        clearInterval(poll);
        // pool.end() waits for checked-out clients; a job that outlived the drain must not hold the exit.
        await Promise.race([pool.end(), new Promise((r) => setTimeout(r, 2_000).unref())]);
      }
    },
  };
}

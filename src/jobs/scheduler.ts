import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import type { Logger } from '../log.js';

export interface Scheduler {
  readonly agenda: Agenda;
  start(): Promise<void>;
  /** Waits up to `timeoutMs` for running jobs, then disconnects; unfinished jobs run again elsewhere. */
  drain(timeoutMs: number): Promise<void>;
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
  const agenda = new Agenda({
    backend: new PostgresBackend({ pool, tableName: 'agenda_jobs' }),
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
    start: () => agenda.start(),
    async drain(timeoutMs) {
      if (stopped) {
        return;
      }
      stopped = true;
      try {
        await agenda.drain(timeoutMs);
      } finally {
        await pool.end();
      }
    },
  };
}

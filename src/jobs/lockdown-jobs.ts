import type { Agenda } from 'agenda';
import { z } from 'zod';
import { advanceLockdown, EARLY_TOLERANCE_MS } from '../core/lockdown/advance-lockdown.js';
import type { LockdownDeps } from '../core/lockdown/ports.js';
import type { Logger } from '../log.js';
import { JobName } from './names.js';

const AdvanceData = z.object({ lockdownId: z.string().regex(/^lck_[a-z0-9]+$/), at: z.string().optional() });

/** How many due lockdowns one sweep advances (the rest on the next sweep). */
const SWEEP_BATCH = 200;

// One closure over the Agenda instance and the ticker's state; each returned function is short.
/**
 * Lockdown timers on Agenda. `lockdown.advance` is a one-shot trigger per wake-up time (removed
 * when done); the lockdown row's next_check_at decides whether anything is due, so duplicate,
 * early or late triggers are harmless. `lockdown.sweep` runs every minute and at start, and
 * advances every overdue lockdown whose trigger was lost (a crash, all processes down).
 */
export function createLockdownJobs(agenda: Agenda, log: Logger) {
  let deps: LockdownDeps | undefined;

  async function wake(lockdownId: string, at: Date, replaces?: Date | null): Promise<void> {
    if (replaces && replaces.getTime() !== at.getTime()) {
      await agenda.cancel({
        name: JobName.lockdownAdvance,
        data: { lockdownId, at: replaces.toISOString() },
      });
    }
    await agenda
      .create(JobName.lockdownAdvance, { lockdownId, at: at.toISOString() })
      .unique({ 'data.lockdownId': lockdownId, 'data.at': at.toISOString() }, { insertOnly: true })
      .schedule(at)
      .save();
  }

  async function advance(lockdownId: string): Promise<void> {
    if (!deps) {
      return;
    }
    try {
      const state = await advanceLockdown(deps, lockdownId);
      log.debug({ lockdownId, state }, 'lockdown.advanced');
    } catch (e) {
      // nothing committed: next_check_at is unchanged, so the sweeper tries again
      log.error({ err: e, lockdownId }, 'lockdown.advance_failed');
    }
  }

  async function sweep(): Promise<number> {
    if (!deps) {
      return 0;
    }
    const due = await deps.lockdowns.due(
      new Date(deps.clock.now().getTime() + EARLY_TOLERANCE_MS),
      SWEEP_BATCH,
    );
    for (const id of due) {
      await advance(id);
    }
    if (due.length) {
      log.info({ count: due.length }, 'lockdown.swept');
    }
    return due.length;
  }

  // Each process also looks for due lockdowns every `tickMs`: one indexed query, and a timer's
  // lateness no longer depends on Agenda delivering every one-shot trigger on time.
  let ticker: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> = Promise.resolve();
  let stopped = false;
  function startTicker(tickMs: number) {
    const tick = () => {
      ticking = sweep()
        .catch((e: unknown) => log.error({ err: e }, 'lockdown.tick_failed'))
        .finally(() => {
          if (!stopped) {
            ticker = setTimeout(tick, tickMs);
            ticker.unref();
          }
        });
    };
    tick();
  }

  return {
    wake,
    sweep,
    startTicker,
    /** stops the ticker and waits for a sweep in progress */
    async stop() {
      stopped = true;
      clearTimeout(ticker);
      await ticking;
    },
    /** registers the jobs once the lockdown dependencies (which need `wake`) exist */
    define(d: LockdownDeps) {
      deps = d;
      agenda.define(
        JobName.lockdownAdvance,
        async (job) => {
          const data = AdvanceData.safeParse(job.attrs.data);
          if (!data.success) {
            log.error({ data: job.attrs.data }, 'lockdown.advance_bad_job_data');
            return;
          }
          await advance(data.data.lockdownId);
        },
        // each run holds one pooled connection for its transaction: keep well under the pool size
        { concurrency: 4, lockLifetime: 5 * 60_000, removeOnComplete: true },
      );
      agenda.define(JobName.lockdownSweep, async () => void (await sweep()), { concurrency: 1 });
    },
    async schedule() {
      await agenda.every('1 minute', JobName.lockdownSweep);
    },
  };
}

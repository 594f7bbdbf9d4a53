import type { Logger } from '../log.js';

/**
 * Runs the outbox worker's passes one at a time: a kick while a pass runs (a commit notification,
 * the poll timer) asks for one more pass right after it, never for a second one at the same time.
 */
export interface PassLoop {
  /** Starts a pass now, or asks for one more after the running one; does nothing once halted. */
  kick(): void;
  /** Asks for one more pass after the running one (a sink had more rows than one turn sends). */
  requestAgain(): void;
  /** Stops asking for passes; the running one stops between rows (see {@link PassLoop.halted}). */
  halt(): void;
  halted(): boolean;
  /** Resolves once no pass runs, including the passes asked for meanwhile. */
  idle(): Promise<void>;
}

export function createPassLoop(pass: () => Promise<void>, log: Logger): PassLoop {
  // A closure: kick, halt and idle share the running pass and its flags.
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  const passes = async (): Promise<void> => {
    do {
      again = false;
      try {
        await pass();
      } catch (err) {
        log.error({ err }, 'outbox.run_failed');
      }
    } while (again && !stopped);
  };

  return {
    kick() {
      if (stopped) {
        return;
      }
      if (running) {
        again = true;
        return;
      }
      running = passes().finally(() => {
        running = null;
      });
    },
    requestAgain() {
      again = true;
    },
    halt() {
      stopped = true;
    },
    halted: () => stopped,
    async idle() {
      while (running) {
        await running;
      }
    },
  };
}

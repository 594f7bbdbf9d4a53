// Pending `waitForCall`/`waitForResponse` promises, re-checked after every request the peer answers.

export interface Waiters {
  /** Re-checks every pending wait. */
  notify(): void;
  /** Resolves with the first non-undefined `find()`; rejects with `describe()` after `timeoutMs`. */
  waitFor<T>(find: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T>;
  /** Rejects every pending wait with `reason`. */
  rejectAll(reason: string): void;
}

export function createWaiters(): Waiters {
  const waiters = new Set<{ check: () => boolean; reject: (e: Error) => void }>();
  return {
    notify: (): void => {
      for (const w of [...waiters]) {
        w.check();
      }
    },
    waitFor: <T>(find: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const waiter = {
          check: (): boolean => {
            const hit = find();
            if (hit === undefined) {
              return false;
            }
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(hit);
            return true;
          },
          reject: (e: Error): void => {
            clearTimeout(timer);
            waiters.delete(waiter);
            reject(e);
          },
        };
        const timer = setTimeout(() => waiter.reject(new Error(describe())), timeoutMs);
        waiters.add(waiter);
        waiter.check();
      }),
    rejectAll: (reason: string): void => {
      for (const w of [...waiters]) {
        w.reject(new Error(reason));
      }
    },
  };
}

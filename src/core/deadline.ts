/**
 * `p`'s outcome, or `late()`'s once `ms` have passed without one (it may return a fallback or
 * throw). The timer is cleared when `p` settles and never keeps the process alive.
 */
export function beforeDeadline<T>(p: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (e) {
        reject(e);
      }
    }, ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

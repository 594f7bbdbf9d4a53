import type { Sql } from 'postgres';

/**
 * Commits to the tables read on every command (settings, role_bindings) notify this channel, from
 * a trigger (migration 0013), with the table's name: every writer, in any replica, is heard.
 */
export const CHANGES_CHANNEL = 'hostlock_changes';

/** A read kept in memory until its table changes (or `ttlMs` passes), shared by concurrent callers. */
export interface CachedRead<T> {
  get(): Promise<T>;
  /** the next get reads again; a read in flight when this is called is not kept */
  invalidate(): void;
}

/**
 * Caches `read`. A change is seen at once in this process and within a notification's latency in
 * every other (see {@link listenForChanges}); `ttlMs` bounds it when a notification is lost (the
 * listening connection down between a commit and its reconnect, which also invalidates).
 */
export function cachedRead<T>(
  read: () => Promise<T>,
  o: { ttlMs: number; now?: () => number },
): CachedRead<T> {
  const now = o.now ?? Date.now;
  // A closure over one entry: `generation` moves on every invalidation, so a read that started
  // before a change never lands in the cache after it.
  let generation = 0;
  let entry: { value: T; at: number } | undefined;
  let inFlight: { promise: Promise<T>; generation: number } | undefined;
  return {
    get() {
      if (entry && now() - entry.at < o.ttlMs) {
        return Promise.resolve(entry.value);
      }
      if (inFlight?.generation === generation) {
        return inFlight.promise;
      }
      const started = generation;
      const at = now();
      const promise = read().then((value) => {
        deepFreeze(value); // shared by every caller: none may change it for the others
        if (generation === started) {
          entry = { value, at };
        }
        return value;
      });
      const flight = { promise, generation: started };
      inFlight = flight;
      const clear = () => {
        if (inFlight === flight) {
          inFlight = undefined;
        }
      };
      promise.then(clear, clear);
      return promise;
    },
    invalidate() {
      generation++;
      entry = undefined;
      inFlight = undefined;
    },
  };
}

/**
 * LISTENs on {@link CHANGES_CHANNEL} and invalidates the caches of the table each notification
 * names; on every (re)connect of the listening connection it invalidates them all, since
 * notifications sent while it was away are lost. Resolves to the function that stops listening.
 */
export async function listenForChanges(
  sql: Sql,
  caches: Partial<Record<string, CachedRead<unknown>>>,
): Promise<() => Promise<void>> {
  const all = () => {
    for (const c of Object.values(caches)) {
      c?.invalidate();
    }
  };
  const listener = await sql.listen(
    CHANGES_CHANNEL,
    (table) => {
      const cache = caches[table];
      if (cache) {
        cache.invalidate();
      } else {
        all(); // a table this process does not know by name: be safe
      }
    },
    all,
  );
  return () => listener.unlisten();
}

function deepFreeze(v: unknown): void {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && !(v instanceof Date)) {
    Object.freeze(v);
    for (const child of Object.values(v)) {
      deepFreeze(child);
    }
  }
}

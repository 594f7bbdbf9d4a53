import type { Sql } from 'postgres';
import { beforeDeadline } from '../core/deadline.js';

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
 * Caches `read`. The guarantee is `ttlMs`: an entry is never served longer than that after the read
 * that produced it began, whatever happens to notifications. Within it, a change is seen at once in
 * this process (the store reports its own writes) and, in every other, when PostgreSQL's
 * notification arrives (see {@link listenForChanges}), usually within milliseconds. Concurrent
 * callers share one read while it is young; a read slower than `timeoutMs` fails (closed: no
 * permission is granted on a failed read) and the next caller starts another.
 */
export function cachedRead<T>(
  read: () => Promise<T>,
  o: { ttlMs: number; timeoutMs?: number; now?: () => number },
): CachedRead<T> {
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? 5_000;
  // a clock stepped back makes `elapsed` negative: that is expired, not fresh
  const fresh = (at: number) => {
    const elapsed = now() - at;
    return elapsed >= 0 && elapsed < o.ttlMs;
  };
  // A closure over one entry: `generation` moves on every invalidation, so a read that started
  // before a change never lands in the cache after it.
  let generation = 0;
  let entry: { value: T; at: number } | undefined;
  let inFlight: { promise: Promise<T>; at: number } | undefined; // cleared by invalidate
  return {
    get() {
      if (entry && fresh(entry.at)) {
        return Promise.resolve(entry.value);
      }
      if (inFlight && fresh(inFlight.at)) {
        return inFlight.promise;
      }
      const started = generation;
      const at = now();
      const promise = withTimeout(read(), timeoutMs).then((read) => {
        // a copy of its own (parsed settings may share arrays with the defaults), then frozen:
        // shared by every caller, none may change it for the others
        const value = structuredClone(read);
        deepFreeze(value);
        if (generation === started) {
          entry = { value, at };
        }
        return value;
      });
      const flight = { promise, at };
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
 * notifications sent while it was away are lost, and tells `onListen`. A speed-up, not the
 * guarantee: postgres.js reconnects with backoff, a pooler in transaction mode delivers nothing,
 * and then the caches' life bounds what is seen. Resolves to the function that stops listening
 * (the first listener only; closing the pool ends a re-established one).
 */
export async function listenForChanges(
  sql: Sql,
  caches: Partial<Record<string, CachedRead<unknown>>>,
  o: { onListen?: () => void } = {},
): Promise<() => Promise<void>> {
  const all = () => {
    for (const c of Object.values(caches)) {
      c?.invalidate();
    }
  };
  const listener = await sql.listen(
    CHANGES_CHANNEL,
    (table) => {
      const cache = Object.hasOwn(caches, table) ? caches[table] : undefined;
      if (cache) {
        cache.invalidate();
      } else {
        all(); // a table this process does not know by name: be safe
      }
    },
    () => {
      all(); // (re)connected: what was notified while away is lost
      o.onListen?.();
    },
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

/** `p`, or a rejection after `ms` (a read stuck on a half-open connection fails instead of hanging every caller). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return beforeDeadline(p, ms, () => {
    throw new Error(`read took longer than ${ms} ms`);
  });
}

import type { Clock } from '../clock.js';
import { createRateLimiter } from '../rate-limit.js';
import type { LookupGuard } from './lookup-host.js';

/** Defender lookups a person may cause a minute (bursts up to it); the inventory answers the rest. */
export const LOOKUPS_PER_MINUTE = 6;
/** How long a query Defender answered with nothing is answered from the inventory alone. */
export const MISS_TTL_MS = 60_000;
const MAX_MISSES = 10_000;

/** Per-process lookup quota and negative cache (bounded, short-lived: no correctness depends on it). */
export function createLookupGuard(o: { clock: Clock; perMinute?: number }): LookupGuard {
  const quota = createRateLimiter({
    perMinute: o.perMinute ?? LOOKUPS_PER_MINUTE,
    now: () => o.clock.now().getTime(),
  });
  const misses = new Map<string, number>();
  return {
    take: (who) => quota.take(who),
    recentlyMissed(key) {
      const at = misses.get(key);
      if (at === undefined) {
        return false;
      }
      if (o.clock.now().getTime() - at >= MISS_TTL_MS) {
        misses.delete(key);
        return false;
      }
      return true;
    },
    missed(key) {
      misses.delete(key);
      misses.set(key, o.clock.now().getTime());
      if (misses.size > MAX_MISSES) {
        misses.delete(misses.keys().next().value as string);
      }
    },
  };
}

/**
 * A token bucket per key (an API token, a source address, a Slack user): `perMinute` a minute on
 * average, bursts up to `perMinute`. Per process: behind N replicas a key gets up to N times it.
 * Bounded: at most 10 000 keys are remembered.
 */
export function createRateLimiter(o: { perMinute: number; now?: () => number }) {
  const now = o.now ?? Date.now;
  const ratePerMs = o.perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (key: string) => {
    const t = now();
    const b = buckets.get(key) ?? { tokens: o.perMinute, at: t };
    b.tokens = Math.min(o.perMinute, b.tokens + (t - b.at) * ratePerMs);
    b.at = t;
    buckets.set(key, b);
    return b;
  };
  return {
    /** 0 while `key` has a request left, without spending it; else the milliseconds until it has. */
    peek(key: string): number {
      const b = refill(key);
      return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / ratePerMs);
    },
    /** 0 when the request may go on; else the milliseconds until one would. */
    take(key: string): number {
      const b = refill(key);
      if (buckets.size > 10_000) {
        buckets.delete(buckets.keys().next().value as string); // bounded: tokens are few, ids are not guessable
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - b.tokens) / ratePerMs);
    },
  };
}

import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/core/rate-limit.js';

describe('per-token rate limit', () => {
  it('allows a burst of perMinute, then one request per 60/perMinute s, per token', () => {
    let t = 0;
    const limiter = createRateLimiter({ perMinute: 60, now: () => t });
    for (let i = 0; i < 60; i++) {
      expect(limiter.take('tok_a')).toBe(0);
    }
    expect(limiter.take('tok_a')).toBe(1_000);
    expect(limiter.take('tok_b')).toBe(0); // other tokens are not affected
    t += 500;
    expect(limiter.take('tok_a')).toBe(500);
    t += 500;
    expect(limiter.take('tok_a')).toBe(0);
    expect(limiter.take('tok_a')).toBe(1_000);
    t += 3_600_000; // refills to the burst size, no more
    for (let i = 0; i < 60; i++) {
      expect(limiter.take('tok_a')).toBe(0);
    }
    expect(limiter.take('tok_a')).toBeGreaterThan(0);
  });
});

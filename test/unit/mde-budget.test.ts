import { describe, expect, it } from 'vitest';
import { createCallBudget, MdeBudgetSpentError, MdeBusyError } from '../../src/mde/budget.js';
import { memoryCallLedger } from '../../src/mde/memory-ledger.js';

/** A virtual clock: sleeping advances time instantly, so minutes of budget take no real time. */
function virtualClock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

function maxInWindow(stamps: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while ((stamps[i] ?? 0) - (stamps[j] ?? 0) >= windowMs) {
      j++;
    }
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('Defender call budget', () => {
  it('keeps 300 calls under 90 in any minute, and serves them in order', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ perMinute: 90, perHour: 1400, ...clock });
    const stamps: number[] = [];
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        budget.acquire().then(() => {
          stamps.push(clock.now());
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(maxInWindow(stamps, 60_000)).toBe(90);
    // and it does not over-throttle: 300 calls fit in just over 3 minutes
    expect((stamps.at(-1) ?? 0) - (stamps[0] ?? 0)).toBeLessThan(4 * 60_000);
  });

  it('keeps under the hourly limit too', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ perMinute: 1000, perHour: 50, ...clock });
    const stamps: number[] = [];
    for (let i = 0; i < 120; i++) {
      await budget.acquire();
      stamps.push(clock.now());
    }
    expect(maxInWindow(stamps, 3_600_000)).toBe(50);
  });

  it('holds every caller while Defender asked to wait (429 Retry-After)', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ ...clock });
    await budget.acquire();
    const pausedAt = clock.now();
    budget.pauseUntil(pausedAt + 7_000);
    await budget.acquire();
    expect(clock.now()).toBeGreaterThanOrEqual(pausedAt + 7_000);
  });

  it('defaults to 90 per minute: headroom under the documented 100', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ ...clock });
    const stamps: number[] = [];
    for (let i = 0; i < 181; i++) {
      await budget.acquire();
      stamps.push(clock.now());
    }
    expect(maxInWindow(stamps, 60_000)).toBe(90);
  });

  it('serves a lockdown step at once from its reserve while lookups wait, and lookups never use the reserve', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ perMinute: 9, perHour: 1000, reservedPerMinute: 3, ...clock });
    const lookups: number[] = [];
    const waiting = Array.from({ length: 12 }, () =>
      budget.acquire('interactive').then(() => lookups.push(clock.now())),
    );
    await new Promise((r) => setImmediate(r));
    const before = clock.now();
    await budget.acquire('urgent');
    expect(clock.now()).toBe(before); // not behind the six lookups still waiting
    await Promise.all(waiting);
    expect(maxInWindow(lookups, 60_000)).toBe(6); // 9 a minute less the 3 kept for lockdown steps
  });

  it('refuses lookups beyond the waiting bound at once, instead of queueing them for minutes', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({
      perMinute: 3,
      reservedPerMinute: 1,
      maxInteractiveWaiters: 2,
      ...clock,
    });
    await budget.acquire('interactive');
    await budget.acquire('interactive');
    const queued = [budget.acquire('interactive'), budget.acquire('interactive')];
    await expect(budget.acquire('interactive')).rejects.toBeInstanceOf(MdeBusyError);
    await Promise.all(queued);
  });

  it('sets a step’s calls aside first, then spends them without waiting, and gives back the rest', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ perMinute: 4, perHour: 1000, reservedPerMinute: 1, ...clock });
    await budget.acquire('urgent');
    await budget.acquire('urgent');
    const start = clock.now();
    const inside = await budget.withCalls('urgent', 2, async () => {
      const t = clock.now();
      await budget.acquire('urgent'); // one of the two set aside
      expect(budget.inReservation()).toBe(true);
      return t;
    });
    expect(inside).toBe(start); // two were free: no wait
    expect(budget.inReservation()).toBe(false);
    // the call not made was given back: one more fits this minute, then the minute is full
    await budget.acquire('urgent');
    expect(clock.now()).toBe(start);
    await budget.acquire('urgent');
    expect(clock.now()).toBeGreaterThan(start);
  });

  it('refuses a step’s call beyond what it set aside at once while the minute is full, never waits', async () => {
    const clock = virtualClock();
    const budget = createCallBudget({ perMinute: 3, perHour: 1000, reservedPerMinute: 1, ...clock });
    const start = clock.now();
    const err = await budget.withCalls('urgent', 3, async () => {
      for (let i = 0; i < 3; i++) {
        await budget.acquire('urgent');
      }
      return budget.acquire('urgent').catch((e: unknown) => e);
    });
    expect(err).toBeInstanceOf(MdeBudgetSpentError);
    expect(clock.now()).toBe(start);
    expect(clock.sleeps).toEqual([]);
  });

  it('takes a set-aside call anew when the step sends it more than a second after the grant', async () => {
    const clock = virtualClock();
    const inner = memoryCallLedger(clock.now);
    const taken: number[] = [];
    const given: string[] = [];
    const ledger = {
      take: async (n: number, caps: { perMinute: number; perHour: number }) => {
        const g = await inner.take(n, caps);
        if (g.taken) {
          taken.push(clock.now());
        }
        return g;
      },
      giveBack: async (ids: readonly string[]) => {
        given.push(...ids);
        await inner.giveBack(ids);
      },
      pauseUntil: inner.pauseUntil,
    };
    const budget = createCallBudget({ ledger, ...clock });
    await budget.withCalls('urgent', 2, async () => {
      await budget.acquire('urgent'); // at once: the set-aside call
      await clock.sleep(5_000); // Defender took its time answering
      await budget.acquire('urgent'); // sent now: counted now, not five seconds ago
    });
    expect(taken).toEqual([1_000_000, 1_005_000]);
    expect(given).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { nextFollowAt } from '../../../src/core/lockdown/deadlines.js';
import { DEFAULT_TIMING } from '../../../src/core/lockdown/ports.js';

const t0 = new Date('2026-12-05T10:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const secondsUntil = (from: number, next: Date) => (next.getTime() - at(from).getTime()) / 1000;

describe('following a submitted Defender action (issue #15, item 2)', () => {
  it('looks after 1 s, 2 s, 4 s, 8 s … since the submit, then every 15 s', () => {
    const waits: number[] = [];
    let now = 0;
    let next = nextFollowAt(at(now), null, DEFAULT_TIMING);
    for (let i = 0; i < 7; i++) {
      waits.push(secondsUntil(now, next));
      now += waits.at(-1) ?? 0;
      next = nextFollowAt(at(now), at(0), DEFAULT_TIMING); // still Pending since t0
    }
    expect(waits).toEqual([1, 1, 2, 4, 8, 15, 15]);
  });

  it('is fast again after a status change, and never slower than the tracking cadence', () => {
    // InProgress since 3 s ago: look again in 3 s, not 15 s
    expect(secondsUntil(100, nextFollowAt(at(100), at(97), DEFAULT_TIMING))).toBe(3);
    // a change just now: 1 s
    expect(secondsUntil(100, nextFollowAt(at(100), at(100), DEFAULT_TIMING))).toBe(1);
    // Defender's clock ahead of ours: still at least 1 s
    expect(secondsUntil(100, nextFollowAt(at(100), at(130), DEFAULT_TIMING))).toBe(1);
    // a test cadence faster than 1 s wins
    expect(secondsUntil(0, nextFollowAt(at(0), null, { trackEveryMs: 100, followFirstMs: 1000 }))).toBe(0.1);
  });
});

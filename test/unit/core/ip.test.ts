import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipVersion } from '../../../src/core/hosts/ip.js';

describe('ipVersion agrees with node:net isIP', () => {
  it.each([
    ['10.1.2.3', 4],
    ['255.255.255.255', 4],
    ['256.1.1.1', 0],
    ['01.2.3.4', 0],
    ['1.2.3', 0],
    ['::', 6],
    ['::1', 6],
    ['fe80::1', 6],
    ['2001:db8::8a2e:370:7334', 6],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', 6],
    ['::ffff:10.0.0.1', 6],
    ['64:ff9b::192.0.2.33', 6],
    ['1:2:3:4:5:6:7::', 6],
    ['1:2:3:4:5:6:7:8:9', 0],
    ['1::2::3', 0],
    [':1:2:3:4:5:6:7', 0],
    ['12345::', 0],
    ['::ffff:300.0.0.1', 0],
    ['1:2:3:4:5:6:7:1.2.3.4', 0],
    ['web-01', 0],
    ['', 0],
  ])('%s → %i', (text, version) => {
    expect(ipVersion(text)).toBe(version);
    expect(isIP(text)).toBe(version);
  });

  it('on generated addresses and near-misses', () => {
    const v6 = fc.ipV6().map((a) => a.toLowerCase());
    const noisy = fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      v6,
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^[0-9a-f:.]{0,30}$/),
    );
    fc.assert(
      fc.property(noisy, (text) => ipVersion(text) === isIP(text)),
      { numRuns: 20_000 },
    );
  });
});

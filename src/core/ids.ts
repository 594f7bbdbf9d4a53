import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case

/** A prefixed random id (`lck_…`, `tok_…`): the prefix says what it names; 80 bits of randomness. */
export function newId(prefix: 'lck' | 'req' | 'tok' | 'evt'): string {
  const bytes = randomBytes(10);
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `${prefix}_${out}`;
}

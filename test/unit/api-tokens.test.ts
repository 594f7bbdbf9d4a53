import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  API_SCOPES,
  API_TOKEN_LENGTH,
  generateApiToken,
  hashApiToken,
  isApiScope,
  isValidTokenName,
} from '../../src/core/api-tokens/tokens.js';

describe('generateApiToken', () => {
  it('makes an hlk_ token of 32 random bytes in base64url, and its sha256 hex hash', () => {
    const { token, hash } = generateApiToken();
    expect(token).toMatch(/^hlk_[A-Za-z0-9_-]{43}$/);
    expect(token).toHaveLength(API_TOKEN_LENGTH);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(token.slice(4));
  });

  it('never makes the same token twice', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateApiToken().token));
    expect(tokens.size).toBe(200);
  });
});

describe('hashApiToken', () => {
  it('is the sha256 hex of the token, so a presented token finds its stored hash', () => {
    const { token, hash } = generateApiToken();
    expect(hashApiToken(token)).toBe(hash);
    expect(hashApiToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('tells tokens apart that differ in one character or in case', () => {
    const { token, hash } = generateApiToken();
    expect(hashApiToken(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).not.toBe(hash);
    expect(hashApiToken(token.toUpperCase())).not.toBe(hash);
  });
});

describe('isApiScope', () => {
  it('accepts the three contract scopes and nothing else', () => {
    expect(API_SCOPES).toEqual(['lockdown:view', 'lockdown:edit', 'scores:write']);
    for (const s of API_SCOPES) {
      expect(isApiScope(s)).toBe(true);
    }
    for (const s of ['settings:edit', 'lockdown:approve', 'lockdown', 'LOCKDOWN:VIEW', '', 'scores:write ']) {
      expect(isApiScope(s)).toBe(false);
    }
  });
});

describe('isValidTokenName', () => {
  it.each([
    ['a single letter', 'a'],
    ['a single digit', '7'],
    ['dots, dashes and underscores after the first character', 'ci-pipeline_v2.prod'],
    ['upper case (stored lower-case)', 'CI-Pipeline'],
    ['64 characters', 'a'.repeat(64)],
  ])('accepts %s', (_, name) => {
    expect(isValidTokenName(name)).toBe(true);
  });

  it.each([
    ['an empty name', ''],
    ['65 characters', 'a'.repeat(65)],
    ['a leading dash', '-ci'],
    ['a leading dot', '.ci'],
    ['a leading underscore', '_ci'],
    ['a space', 'ci pipeline'],
    ['a slash', 'ci/pipeline'],
    ['a colon', 'lockdown:view'],
    ['a mention', '<@U123>'],
    ['a backtick', 'ci`x'],
    ['a newline', 'ci\nx'],
    ['a non-ASCII letter', 'café'],
  ])('refuses %s', (_, name) => {
    expect(isValidTokenName(name)).toBe(false);
  });
});

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostlockError } from '../../src/core/errors.js';
import { SecretBoxError } from '../../src/core/secrets.js';
import { createAesGcmBox, keyIdOf } from '../../src/secrets/aes-gcm-box.js';
import { loadMasterKey } from '../../src/secrets/master-key.js';

const key = Buffer.alloc(32, 7);
const box = createAesGcmBox(key, keyIdOf(key));
const FIELD = 'mde_client_secret';
const PLAINTEXT = 'abc8Q~not-a-real-secret-but-long-enough-x';

/** Splits a sealed value into its five segments. */
function segments(sealed: string): string[] {
  const parts = sealed.split(':');
  expect(parts).toHaveLength(5);
  return parts;
}

/** Flips one bit in the base64 segment `index` and reassembles the sealed text. */
function flipBit(sealed: string, index: number, byte = 0): string {
  const parts = segments(sealed);
  const bytes = Buffer.from(parts[index] ?? '', 'base64');
  bytes[byte] = (bytes[byte] ?? 0) ^ 0x01;
  parts[index] = bytes.toString('base64');
  return parts.join(':');
}

function expectUnreadable(sealed: string, field = FIELD, reason?: string): SecretBoxError {
  let caught: unknown;
  try {
    box.open(field, sealed);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SecretBoxError);
  const error = caught as SecretBoxError;
  expect(error.code).toBe('secret_unreadable');
  expect(error.retryable).toBe(false);
  expect(error.message).toContain(`stored secret ${field} cannot be decrypted`);
  expect(error.message).not.toContain(PLAINTEXT);
  if (reason !== undefined) {
    expect(error.context.reason).toBe(reason);
  }
  return error;
}

describe('AES-GCM secret box', () => {
  it('opens what it sealed, including empty and non-ASCII text', () => {
    for (const text of [PLAINTEXT, '', 'pässwörd ✓ 秘密']) {
      expect(box.open(FIELD, box.seal(FIELD, text))).toBe(text);
    }
  });

  it('writes v1:<keyId>:<iv>:<tag>:<ct> with a 12-byte IV and a 16-byte tag', () => {
    const [version, keyId, iv, tag, ct] = segments(box.seal(FIELD, PLAINTEXT));
    expect(version).toBe('v1');
    expect(keyId).toBe(keyIdOf(key));
    expect(Buffer.from(iv ?? '', 'base64')).toHaveLength(12);
    expect(Buffer.from(tag ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(ct ?? '', 'base64')).toHaveLength(Buffer.byteLength(PLAINTEXT));
  });

  it('uses a fresh IV for every seal, so equal plaintexts give different ciphertexts', () => {
    const sealed = Array.from({ length: 50 }, () => box.seal(FIELD, PLAINTEXT));
    expect(new Set(sealed.map((s) => segments(s)[2])).size).toBe(50);
    expect(new Set(sealed).size).toBe(50);
  });

  it('gives different keys different 8-hex key ids and the same key the same id', () => {
    expect(keyIdOf(key)).toMatch(/^[0-9a-f]{8}$/);
    expect(keyIdOf(Buffer.from(key))).toBe(keyIdOf(key));
    expect(keyIdOf(Buffer.alloc(32, 8))).not.toBe(keyIdOf(key));
  });

  it('refuses a key that is not 32 bytes and a key id that would break the format', () => {
    expect(() => createAesGcmBox(Buffer.alloc(16), 'k1')).toThrow(HostlockError);
    expect(() => createAesGcmBox(key, 'a:b')).toThrow(/key id/);
    expect(() => createAesGcmBox(key, '')).toThrow(/key id/);
  });

  describe('fails closed with SecretBoxError', () => {
    const sealed = box.seal(FIELD, PLAINTEXT);

    it.each([
      ['ciphertext, first byte', 4, 0],
      ['ciphertext, last byte', 4, Buffer.byteLength(PLAINTEXT) - 1],
      ['IV', 2, 0],
      ['IV, last byte', 2, 11],
      ['tag', 3, 0],
      ['tag, last byte', 3, 15],
    ])('on a flipped bit in the %s', (_name, index, byte) => {
      expectUnreadable(flipBit(sealed, index, byte), FIELD, 'authentication_failed');
    });

    it('when opened as another field (the AAD binds the field name)', () => {
      expectUnreadable(sealed, 'slack_signing_secret', 'authentication_failed');
    });

    it('when the key id is relabelled, even to the id of the key that is in use', () => {
      const other = Buffer.alloc(32, 9);
      const foreign = createAesGcmBox(other, keyIdOf(other)).seal(FIELD, PLAINTEXT);
      expectUnreadable(foreign, FIELD, 'unknown_key');
      // Same ciphertext claiming our key id: the AAD carries the id, so the tag fails.
      const relabelled = foreign.replace(keyIdOf(other), keyIdOf(key));
      expectUnreadable(relabelled, FIELD, 'authentication_failed');
    });

    it('on an unknown version', () => {
      expectUnreadable(`v2${sealed.slice(2)}`, FIELD, 'unknown_version');
    });

    it('on a truncated tag, IV or ciphertext', () => {
      const [v, k, iv, tag, ct] = segments(sealed);
      const shortTag = Buffer.from(tag ?? '', 'base64')
        .subarray(0, 12)
        .toString('base64');
      expectUnreadable([v, k, iv, shortTag, ct].join(':'), FIELD, 'malformed');
      const shortIv = Buffer.from(iv ?? '', 'base64')
        .subarray(0, 8)
        .toString('base64');
      expectUnreadable([v, k, shortIv, tag, ct].join(':'), FIELD, 'malformed');
      const shortCt = Buffer.from(ct ?? '', 'base64')
        .subarray(1)
        .toString('base64');
      expectUnreadable([v, k, iv, tag, shortCt].join(':'), FIELD, 'authentication_failed');
      expectUnreadable(sealed.slice(0, sealed.lastIndexOf(':')), FIELD, 'malformed');
    });

    it.each([
      ['an empty string', ''],
      ['plain text', 'hunter2'],
      ['too many segments', `${sealed}:AAAA`],
      ['non-base64 characters', sealed.replace(/:([^:]+)$/, ':!!!!')],
      ['base64 with stray characters', sealed.replace(/:([^:]+)$/, ':$1*')],
    ])('on garbage: %s', (_name, text) => {
      expectUnreadable(text, FIELD);
    });
  });
});

describe('loadMasterKey', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses HOSTLOCK_MASTER_KEY when it is base64 of 32 bytes and touches no file', async () => {
    const base64 = Buffer.alloc(32, 3).toString('base64');
    const warn = vi.fn();
    const loaded = await loadMasterKey({ masterKeyBase64: `${base64}\n`, dataDir: dir, warn });
    expect(loaded).toEqual({ key: Buffer.alloc(32, 3), source: 'env' });
    expect(warn).not.toHaveBeenCalled();
    await expect(stat(path.join(dir, 'master.key'))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['16 bytes', Buffer.alloc(16, 1).toString('base64'), /got 16 bytes/],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64'), /got 33 bytes/],
    ['an empty value', '', /got 0 bytes/],
    ['not base64', 'this is not base64!!', /not base64/],
  ])('refuses a HOSTLOCK_MASTER_KEY of %s, saying how to make one', async (_name, value, detail) => {
    const promise = loadMasterKey({ masterKeyBase64: value, dataDir: dir, warn: vi.fn() });
    await expect(promise).rejects.toMatchObject({ code: 'bad_master_key' });
    await expect(promise).rejects.toThrow(/HOSTLOCK_MASTER_KEY must be base64 of exactly 32 bytes/);
    await expect(promise).rejects.toThrow(detail);
    await expect(promise).rejects.toThrow('openssl rand -base64 32');
  });

  it('creates a 0600 key file in a new 0700 data dir, warns once, and reuses it on the next start', async () => {
    const dataDir = path.join(dir, 'nested', 'data');
    const warn = vi.fn();
    const first = await loadMasterKey({ dataDir, warn });
    expect(first.source).toBe('file');
    expect(first.key).toHaveLength(32);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/back it up.*HOSTLOCK_MASTER_KEY/);

    const file = path.join(dataDir, 'master.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.key.toString('base64'));

    const second = await loadMasterKey({ dataDir, warn });
    expect(second).toEqual({ key: first.key, source: 'file' });
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('refuses a key file readable by group or others and says to chmod 600', async () => {
    const file = path.join(dir, 'master.key');
    await writeFile(file, `${Buffer.alloc(32, 5).toString('base64')}\n`, { mode: 0o644 });
    const promise = loadMasterKey({ dataDir: dir, warn: vi.fn() });
    await expect(promise).rejects.toMatchObject({ code: 'master_key_file_insecure' });
    await expect(promise).rejects.toThrow(`chmod 600 ${file}`);
  });

  it('refuses a key file that does not hold 32 bytes of base64, naming the file', async () => {
    const file = path.join(dir, 'master.key');
    await writeFile(file, 'short\n', { mode: 0o600 });
    await expect(loadMasterKey({ dataDir: dir, warn: vi.fn() })).rejects.toThrow(
      `${file} must be base64 of exactly 32 bytes`,
    );
  });

  it('gives every concurrent first start the same key and leaves no temporary files', async () => {
    const warn = vi.fn();
    const loads = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir: dir, warn })));
    const keys = new Set(loads.map((l) => l.key.toString('hex')));
    expect(keys.size).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['master.key']);
  });
});

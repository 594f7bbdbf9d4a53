import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { HostlockError } from '../core/errors.js';
import { type SecretBox, SecretBoxError } from '../core/secrets.js';

// Sizes from NIST SP 800-38D as summarised in reliability.md §7: a 96-bit random IV per seal and
// the full 128-bit tag. Keys are AES-256.
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/**
 * A short, stable identifier for a master key (first 8 hex of a SHA-256 over a label and the key),
 * stored in every sealed value so a value sealed under a rotated key is recognised as such
 * instead of failing as "altered". The label keeps this hash distinct from any other use of the key.
 */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('hostlock:key-id:').update(key).digest('hex').slice(0, 8);
}

/**
 * A {@link SecretBox} using AES-256-GCM. Output: `v1:<keyId>:<iv b64>:<tag b64>:<ct b64>`.
 * The AAD is `hostlock:<field>:<keyId>`, so a value moved to another field, or relabelled with
 * another key id, fails authentication.
 * @throws {HostlockError} `bad_master_key` if the key is not 32 bytes or the key id is not 1–64
 *   characters of `[A-Za-z0-9_-]` (it is a `:`-separated segment of the stored format).
 */
export function createAesGcmBox(key: Buffer, keyId: string): SecretBox {
  if (key.length !== KEY_BYTES) {
    throw new HostlockError(`the master key must be ${KEY_BYTES} bytes, got ${key.length}`, {
      code: 'bad_master_key',
    });
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(keyId)) {
    throw new HostlockError('a key id must be 1-64 characters of [A-Za-z0-9_-]', {
      code: 'bad_master_key',
      context: { keyId },
    });
  }
  // Copy so a caller zeroing or reusing its buffer cannot change the key under us.
  const ownKey = Buffer.from(key);
  // keyId has no ':', so the last ':' in the AAD always separates it from the field: distinct
  // (field, keyId) pairs never produce the same AAD.
  const aad = (field: string) => Buffer.from(`hostlock:${field}:${keyId}`, 'utf8');

  return {
    seal(field, plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', ownKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(field));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, keyId, iv.toString('base64'), tag.toString('base64'), ct.toString('base64')].join(':');
    },

    open(field, sealed) {
      const parts = sealed.split(':');
      if (parts.length !== 5) {
        throw new SecretBoxError(field, 'malformed');
      }
      const [version, sealedKeyId, ivText = '', tagText = '', ctText = ''] = parts;
      if (version !== VERSION) {
        throw new SecretBoxError(field, 'unknown_version');
      }
      if (sealedKeyId !== keyId) {
        throw new SecretBoxError(field, 'unknown_key');
      }
      const iv = decodeBase64(ivText);
      const tag = decodeBase64(tagText);
      const ct = decodeBase64(ctText);
      // Node accepts shorter GCM tags unless told otherwise; a truncated tag must never verify.
      if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ct === undefined) {
        throw new SecretBoxError(field, 'malformed');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', ownKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(field));
        decipher.setAuthTag(tag);
        // final() throws if the tag does not verify; nothing decrypted is returned before that.
        return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SecretBoxError(field, 'authentication_failed', { cause });
      }
    },
  };
}

/** Strict base64: Node's decoder silently skips bad characters, so insist the text round-trips. */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

import { HostlockError } from './errors.js';

/**
 * Port for encrypting secrets at rest (MDE client secret, syslog TLS keys…). `field` names what the
 * secret is (e.g. `mde_client_secret`) and is bound into the ciphertext, so a value copied into
 * another field does not open.
 */
export interface SecretBox {
  /** Encrypts `plaintext` for `field`; returns printable text safe to store in a column. */
  seal(field: string, plaintext: string): string;
  /**
   * Decrypts what `seal(field, …)` returned.
   * @throws {SecretBoxError} when the text was altered, belongs to another field, or was sealed
   *   with another master key. Never returns unauthenticated data.
   */
  open(field: string, sealed: string): string;
}

/** Why a sealed value could not be opened; goes to `context.reason` for the log, not to users. */
export type SecretBoxFailure = 'malformed' | 'unknown_version' | 'unknown_key' | 'authentication_failed';

/**
 * A stored secret cannot be decrypted. Not retryable: the same bytes and key fail the same way; an
 * admin must re-enter the secret or restore the master key.
 */
export class SecretBoxError extends HostlockError {
  override readonly name: string = 'SecretBoxError';

  constructor(field: string, reason: SecretBoxFailure, options: { cause?: unknown } = {}) {
    super(
      `stored secret ${field} cannot be decrypted: it was altered or sealed with another master key; ` +
        're-enter it in the settings modal or restore HOSTLOCK_MASTER_KEY',
      { code: 'secret_unreadable', retryable: false, context: { field, reason }, cause: options.cause },
    );
  }
}

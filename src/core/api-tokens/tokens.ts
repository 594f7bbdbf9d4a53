import { createHash, randomBytes } from 'node:crypto';

/** REST API scopes (DESIGN §3.7). Contract names: never retype these literals. */
export const API_SCOPES = ['lockdown:view', 'lockdown:edit', 'scores:write'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const isApiScope = (s: string): s is ApiScope => (API_SCOPES as readonly string[]).includes(s);

/** Every API token starts with this, so it is recognisable in a leaked file or a secret scanner. */
export const API_TOKEN_PREFIX = 'hlk_';

/** Length of a token: the prefix plus 32 bytes as unpadded base64url (43 characters). */
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + 43;

/**
 * The sha256 of a token, as lower-case hex: what the database keeps. A plain hash (no salt, no
 * slow KDF) is enough because the token carries 256 random bits, and it lets a request's token be
 * found by an indexed lookup of its hash instead of comparing against every row.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A new API token (`hlk_` + 32 random bytes, base64url) and its hash. The token is shown to its
 * creator once and then forgotten; only `hash` may be stored.
 */
export function generateApiToken(): { token: string; hash: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashApiToken(token) };
}

export const TOKEN_NAME_MAX = 64;
const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * Whether `name` can name a token: 1–64 characters, a letter or digit first, then letters, digits,
 * `.`, `_` or `-`. Case does not matter here; names are stored lower-case.
 */
export function isValidTokenName(name: string): boolean {
  return name.length >= 1 && name.length <= TOKEN_NAME_MAX && TOKEN_NAME.test(name);
}

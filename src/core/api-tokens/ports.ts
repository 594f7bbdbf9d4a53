import type { ApiScope } from './tokens.js';

/** An active token as listed: never its secret, which is not stored. */
export interface ApiTokenSummary {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** who created it, e.g. `slack:U123` */
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** when it stops working; null for tokens made before tokens expired */
  expiresAt: Date | null;
}

/** Persistence of API tokens (src/db/repos/api-tokens.ts); only hashes are stored. */
export interface ApiTokenRepo {
  /** Inserts a token; false when an active token already has the name (partial unique index). */
  insert(t: {
    id: string;
    name: string;
    hash: string;
    scopes: readonly ApiScope[];
    createdBy: string;
    expiresAt: Date;
  }): Promise<boolean>;
  /** Revokes the active token named `name`; null when there is none. */
  revoke(name: string): Promise<{ id: string; scopes: ApiScope[] } | null>;
  /** Active tokens by name. */
  listActive(): Promise<ApiTokenSummary[]>;
  /** The active token with this hash, its last use set to now; null when unknown, revoked or expired. */
  useActive(
    hash: string,
  ): Promise<{ id: string; name: string; scopes: ApiScope[]; createdBy: string } | null>;
}

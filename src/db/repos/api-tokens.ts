import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { ApiTokenRepo } from '../../core/api-tokens/ports.js';
import { API_SCOPES, type ApiScope } from '../../core/api-tokens/tokens.js';
import type { Database } from '../client.js';
import { apiTokens } from '../schema.js';

/** Scopes read back from a row, in contract order; an unknown one (a later downgrade) grants nothing. */
const scopesOf = (stored: readonly string[]): ApiScope[] => API_SCOPES.filter((s) => stored.includes(s));

/** API tokens over drizzle; `db` may be a transaction. Only hashes are stored. */
export function apiTokenRepo(db: Database): ApiTokenRepo {
  return {
    async insert(t) {
      // The partial unique index on active names turns a duplicate (or a concurrent create of the
      // same name) into zero rows here rather than an error.
      const inserted = await db
        .insert(apiTokens)
        .values({
          id: t.id,
          name: t.name,
          tokenHash: t.hash,
          scopes: [...t.scopes],
          createdBy: t.createdBy,
          expiresAt: t.expiresAt,
        })
        .onConflictDoNothing()
        .returning({ id: apiTokens.id });
      return inserted.length > 0;
    },
    async revoke(name) {
      const [row] = await db
        .update(apiTokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
        .returning({ id: apiTokens.id, scopes: apiTokens.scopes });
      return row ? { id: row.id, scopes: scopesOf(row.scopes) } : null;
    },
    async listActive() {
      const rows = await db
        .select({
          id: apiTokens.id,
          name: apiTokens.name,
          scopes: apiTokens.scopes,
          createdBy: apiTokens.createdBy,
          createdAt: apiTokens.createdAt,
          lastUsedAt: apiTokens.lastUsedAt,
          expiresAt: apiTokens.expiresAt,
        })
        .from(apiTokens)
        .where(isNull(apiTokens.revokedAt))
        .orderBy(asc(apiTokens.name));
      return rows.map((r) => ({ ...r, scopes: scopesOf(r.scopes) }));
    },
    // The lookup is by the (unique, indexed) hash, so the secret is never compared directly and
    // its timing reveals nothing about it.
    async useActive(hash) {
      const [row] = await db
        .update(apiTokens)
        .set({ lastUsedAt: sql`now()` })
        .where(
          and(
            eq(apiTokens.tokenHash, hash),
            isNull(apiTokens.revokedAt),
            // no expiry means not valid: 0008 gave every older token one
            gt(apiTokens.expiresAt, sql`now()`),
          ),
        )
        .returning({
          id: apiTokens.id,
          name: apiTokens.name,
          scopes: apiTokens.scopes,
          createdBy: apiTokens.createdBy,
        });
      return row ? { ...row, scopes: scopesOf(row.scopes) } : null;
    },
  };
}

import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { API_SCOPES, type ApiScope, generateApiToken, hashApiToken } from '../../core/api-tokens.js';
import { newId } from '../../core/ids.js';
import type { Database } from '../client.js';
import { apiTokens, auditEvents } from '../schema.js';

/** An active token as listed: never its secret, which is not stored. */
export interface ApiTokenSummary {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** who created it, e.g. `slack:U123` */
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Scopes read back from a row, in contract order; an unknown one (a later downgrade) grants nothing. */
const scopesOf = (stored: readonly string[]): ApiScope[] => API_SCOPES.filter((s) => stored.includes(s));

/**
 * Creates a token named `name` (stored lower-case) with `scopes`, and writes `api_token.created` to
 * the audit trail, in one transaction. Only the token's hash is stored and the audit row names the
 * token and its scopes, never the secret. Returns the id and the token (to be shown once), or
 * 'name_taken' (nothing written) when an active token already has that name.
 */
export async function createApiToken(
  db: Database,
  input: { name: string; scopes: readonly ApiScope[]; by: string },
): Promise<{ id: string; token: string } | 'name_taken'> {
  const name = input.name.toLowerCase();
  const scopes = scopesOf(input.scopes);
  const { token, hash } = generateApiToken();
  const id = newId('tok');
  return db.transaction(async (tx) => {
    // The partial unique index on active names turns a duplicate (or a concurrent create of the
    // same name) into zero rows here rather than an error.
    const inserted = await tx
      .insert(apiTokens)
      .values({ id, name, tokenHash: hash, scopes, createdBy: input.by })
      .onConflictDoNothing()
      .returning({ id: apiTokens.id });
    if (inserted.length === 0) {
      return 'name_taken';
    }
    await tx.insert(auditEvents).values({
      actor: input.by,
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: id,
      outcome: 'ok',
      details: { name, scopes },
    });
    return { id, token };
  });
}

/**
 * Revokes the active token named `name` and writes `api_token.revoked`, in one transaction. The row
 * stays (revoked_at set) so the audit trail's `api:tok_…` actors still resolve to a name. Returns
 * 'not_found' (nothing written) when no active token has that name.
 */
export async function revokeApiToken(
  db: Database,
  input: { name: string; by: string },
): Promise<'revoked' | 'not_found'> {
  const name = input.name.toLowerCase();
  return db.transaction(async (tx) => {
    const revoked = await tx
      .update(apiTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id, scopes: apiTokens.scopes });
    const row = revoked[0];
    if (!row) {
      return 'not_found';
    }
    await tx.insert(auditEvents).values({
      actor: input.by,
      action: 'api_token.revoked',
      targetType: 'api_token',
      targetId: row.id,
      outcome: 'ok',
      details: { name, scopes: scopesOf(row.scopes) },
    });
    return 'revoked';
  });
}

/** Active (unrevoked) tokens by name. */
export async function listApiTokens(db: Database): Promise<ApiTokenSummary[]> {
  const rows = await db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      scopes: apiTokens.scopes,
      createdBy: apiTokens.createdBy,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(isNull(apiTokens.revokedAt))
    .orderBy(asc(apiTokens.name));
  return rows.map((r) => ({ ...r, scopes: scopesOf(r.scopes) }));
}

/**
 * The active token whose hash matches `token`, with `last_used_at` set to now in the same
 * statement; null for an unknown or revoked token. The lookup is by the (unique, indexed) hash, so
 * the secret is never compared directly and its timing reveals nothing about it.
 */
export async function findActiveToken(
  db: Database,
  token: string,
): Promise<{ id: string; name: string; scopes: ApiScope[] } | null> {
  const rows = await db
    .update(apiTokens)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiTokens.tokenHash, hashApiToken(token)), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id, name: apiTokens.name, scopes: apiTokens.scopes });
  const row = rows[0];
  return row ? { id: row.id, name: row.name, scopes: scopesOf(row.scopes) } : null;
}

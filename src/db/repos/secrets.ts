import { eq, inArray } from 'drizzle-orm';
import type { SecretBox } from '../../core/secrets.js';
import type { SecretRepo } from '../../core/settings/ports.js';
import type { Database } from '../client.js';
import { secrets } from '../schema.js';
import { appendAudit } from './audit.js';

/** Sealed secrets at rest: the row holds only ciphertext bound to its name (AAD). */
export function secretStore(db: Database, box: SecretBox, keyId: string): SecretRepo {
  return {
    async has(name: string): Promise<boolean> {
      return (await db.select({ name: secrets.name }).from(secrets).where(eq(secrets.name, name))).length > 0;
    },
    /** Seals and stores several secrets at once, replacing earlier values. */
    async putAll(values: Record<string, string>, setBy: string): Promise<void> {
      const rows = Object.entries(values).map(([name, plain]) => ({
        name,
        sealed: box.seal(name, plain),
        keyId,
        setBy,
        setAt: new Date(),
      }));
      for (const row of rows) {
        await db
          .insert(secrets)
          .values(row)
          .onConflictDoUpdate({
            target: secrets.name,
            set: { sealed: row.sealed, keyId: row.keyId, setBy: row.setBy, setAt: row.setAt },
          });
      }
    },
    /** When and by whom a secret was set, without opening it (the modal's "set on … by …"). */
    async meta(name: string): Promise<{ setAt: Date; setBy: string } | null> {
      const [row] = await db
        .select({ setAt: secrets.setAt, setBy: secrets.setBy })
        .from(secrets)
        .where(eq(secrets.name, name));
      return row ?? null;
    },
    /** Deletes the named secrets (Defender "delete": credentials wiped). */
    async remove(names: readonly string[]): Promise<number> {
      return (
        await db
          .delete(secrets)
          .where(inArray(secrets.name, [...names]))
          .returning({ name: secrets.name })
      ).length;
    },
    /** Opens the named secrets; missing names are absent from the result. Throws SecretBoxError on tampering. */
    async getAll(names: readonly string[]): Promise<Record<string, string>> {
      const rows = await db
        .select()
        .from(secrets)
        .where(inArray(secrets.name, [...names]));
      return Object.fromEntries(rows.map((r) => [r.name, box.open(r.name, r.sealed)]));
    },
  };
}

/**
 * Master-key rotation: every secret sealed under `previous` is opened with it and sealed again
 * under `current`, in one transaction (all or nothing), with an audit row naming how many. Values
 * sealed under a key that is neither stay untouched (and fail to open, clearly, when used).
 */
export async function rewrapSecrets(
  db: Database,
  previous: { box: SecretBox; keyId: string },
  current: { box: SecretBox; keyId: string },
): Promise<number> {
  if (previous.keyId === current.keyId) {
    return 0;
  }
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(secrets).where(eq(secrets.keyId, previous.keyId)).for('update');
    for (const r of rows) {
      const plain = previous.box.open(r.name, r.sealed);
      await tx
        .update(secrets)
        .set({ sealed: current.box.seal(r.name, plain), keyId: current.keyId })
        .where(eq(secrets.name, r.name));
    }
    if (rows.length) {
      await appendAudit(tx, {
        actor: 'system:key-rotation',
        action: 'secrets.rewrapped',
        targetType: 'secrets',
        targetId: current.keyId,
        outcome: 'ok',
        details: { count: rows.length, from: previous.keyId, to: current.keyId },
      });
    }
    return rows.length;
  });
}

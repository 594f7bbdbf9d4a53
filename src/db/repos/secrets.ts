import { eq, inArray } from 'drizzle-orm';
import type { SecretBox } from '../../core/secrets.js';
import type { Database } from '../client.js';
import { secrets } from '../schema.js';

/** Sealed secrets at rest: the row holds only ciphertext bound to its name (AAD). */
export function secretStore(db: Database, box: SecretBox, keyId: string) {
  return {
    async has(name: string): Promise<boolean> {
      return (await db.select({ name: secrets.name }).from(secrets).where(eq(secrets.name, name))).length > 0;
    },
    /** Seals and stores several secrets at once, replacing earlier values. */
    async putAll(values: Record<string, string>, setBy: string, tx: Database = db): Promise<void> {
      const rows = Object.entries(values).map(([name, plain]) => ({
        name,
        sealed: box.seal(name, plain),
        keyId,
        setBy,
        setAt: new Date(),
      }));
      for (const row of rows) {
        await tx
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
    async remove(names: string[], tx: Database = db): Promise<number> {
      return (await tx.delete(secrets).where(inArray(secrets.name, names)).returning({ name: secrets.name }))
        .length;
    },
    /** Opens the named secrets; missing names are absent from the result. Throws SecretBoxError on tampering. */
    async getAll(names: string[]): Promise<Record<string, string>> {
      const rows = await db.select().from(secrets).where(inArray(secrets.name, names));
      return Object.fromEntries(rows.map((r) => [r.name, box.open(r.name, r.sealed)]));
    },
  };
}

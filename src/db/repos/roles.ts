import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../client.js';
import { auditEvents, roleBindings } from '../schema.js';

export interface RoleBinding {
  role: string;
  subjectType: 'user' | 'usergroup';
  subjectId: string;
}

/** Every binding: a small table, read fresh on every command and click so revocations bite at once. */
export async function listRoleBindings(db: Database): Promise<RoleBinding[]> {
  const rows = await db
    .select({
      role: roleBindings.role,
      subjectType: roleBindings.subjectType,
      subjectId: roleBindings.subjectId,
    })
    .from(roleBindings);
  return rows.map((r) => ({ ...r, subjectType: r.subjectType === 'usergroup' ? 'usergroup' : 'user' }));
}

/** A grant or revocation: the binding, and who asked (`slack:U…`) for the audit row. */
export interface RoleChange extends RoleBinding {
  by: string;
}

/**
 * Binds `role` to the subject and writes `role.granted` to the audit trail, in one transaction.
 * Returns 'granted', or 'unchanged' when the binding already existed (nothing written).
 */
export async function grantRole(db: Database, c: RoleChange): Promise<'granted' | 'unchanged'> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(roleBindings)
      .values({ role: c.role, subjectType: c.subjectType, subjectId: c.subjectId, grantedBy: c.by })
      .onConflictDoNothing()
      .returning({ id: roleBindings.id });
    if (inserted.length === 0) {
      return 'unchanged';
    }
    await tx.insert(auditEvents).values({
      actor: c.by,
      action: 'role.granted',
      targetType: c.subjectType,
      targetId: c.subjectId,
      outcome: 'ok',
      details: { role: c.role },
    });
    return 'granted';
  });
}

/** The role whose last binding may not be removed: without it nobody could manage hostlock. */
export const GUARDED_ROLE = 'admin';

/**
 * Removes the binding and writes `role.revoked`, in one transaction. Returns 'unchanged' when there
 * was no such binding, and 'last_admin' (nothing written) when it is the only `admin` binding left.
 */
export async function revokeRole(
  db: Database,
  c: RoleChange,
): Promise<'revoked' | 'unchanged' | 'last_admin'> {
  return db.transaction(async (tx) => {
    if (c.role === GUARDED_ROLE) {
      // Lock every admin binding first, so two admins revoking each other at once cannot both
      // succeed: the second waits, then counts what the first left.
      const admins = await tx.execute<{ subject_id: string }>(
        sql`select subject_id from role_bindings where role = ${GUARDED_ROLE} for update`,
      );
      const others = admins.filter((r) => r.subject_id !== c.subjectId);
      if (admins.length > others.length && others.length === 0) {
        return 'last_admin';
      }
    }
    const deleted = await tx
      .delete(roleBindings)
      .where(
        and(
          eq(roleBindings.role, c.role),
          eq(roleBindings.subjectType, c.subjectType),
          eq(roleBindings.subjectId, c.subjectId),
        ),
      )
      .returning({ id: roleBindings.id });
    if (deleted.length === 0) {
      return 'unchanged';
    }
    await tx.insert(auditEvents).values({
      actor: c.by,
      action: 'role.revoked',
      targetType: c.subjectType,
      targetId: c.subjectId,
      outcome: 'ok',
      details: { role: c.role },
    });
    return 'revoked';
  });
}

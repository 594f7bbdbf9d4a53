import { and, eq, sql } from 'drizzle-orm';
import { isRole } from '../../core/permissions.js';
import type { RoleBinding, RoleRepo } from '../../core/roles/ports.js';
import type { Database } from '../client.js';
import { roleBindings } from '../schema.js';

/** Role bindings over drizzle; `db` may be a transaction. Audit rows are the verbs' (core/roles/). */
export function roleRepo(db: Database): RoleRepo {
  return {
    async list() {
      const rows = await db
        .select({
          role: roleBindings.role,
          subjectType: roleBindings.subjectType,
          subjectId: roleBindings.subjectId,
        })
        .from(roleBindings);
      // a role this version does not know (a later downgrade) grants nothing
      return rows.flatMap((r): RoleBinding[] =>
        isRole(r.role)
          ? [
              {
                role: r.role,
                subjectType: r.subjectType === 'usergroup' ? 'usergroup' : 'user',
                subjectId: r.subjectId,
              },
            ]
          : [],
      );
    },
    async add(b, grantedBy) {
      const inserted = await db
        .insert(roleBindings)
        .values({ role: b.role, subjectType: b.subjectType, subjectId: b.subjectId, grantedBy })
        .onConflictDoNothing()
        .returning({ id: roleBindings.id });
      return inserted.length > 0;
    },
    async remove(b) {
      const deleted = await db
        .delete(roleBindings)
        .where(
          and(
            eq(roleBindings.role, b.role),
            eq(roleBindings.subjectType, b.subjectType),
            eq(roleBindings.subjectId, b.subjectId),
          ),
        )
        .returning({ id: roleBindings.id });
      return deleted.length > 0;
    },
    async lockHolders(role) {
      const rows = await db.execute<{ subject_id: string }>(
        sql`select subject_id from role_bindings where role = ${role} for update`,
      );
      return rows.map((r) => r.subject_id);
    },
  };
}

import type { Database } from '../client.js';
import { roleBindings } from '../schema.js';

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

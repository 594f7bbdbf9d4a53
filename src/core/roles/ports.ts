import type { Permission, Role } from '../permissions.js';

/** A role bound to a Slack user (`U…`/`W…`) or user group (`S…`). */
export interface RoleBinding {
  role: Role;
  subjectType: 'user' | 'usergroup';
  subjectId: string;
}

/**
 * What a person may do now (src/slack/actor.ts resolves users and user groups): null for an actor
 * that is not a person (`system:…`), whose rights are not role-based.
 */
export interface People {
  permissionsOf(actorId: string): Promise<ReadonlySet<Permission> | null>;
}

/** Persistence of role bindings (src/db/repos/roles.ts). */
export interface RoleRepo {
  /** Every binding: a small table, read for every command and click (through a per-process cache that a change drops: ≤ 1 s in every replica). */
  list(): Promise<RoleBinding[]>;
  /** Adds the binding; false when it already existed. */
  add(b: RoleBinding, grantedBy: string): Promise<boolean>;
  /** Removes the binding; false when there was none. */
  remove(b: RoleBinding): Promise<boolean>;
  /** The subjects holding `role`, locked until the transaction ends (serialises concurrent revocations). */
  lockHolders(role: Role): Promise<string[]>;
}

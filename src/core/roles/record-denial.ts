import { type Actor, actorId, type Permission } from '../permissions.js';
import type { Store } from '../store.js';

/**
 * A refused check, audited (DESIGN §3.4: "a denied check is answered ephemerally and audited"):
 * a missing permission, or a rule such as the two-person rule. Writes one `authz.denied` row.
 */
export async function recordDenial(
  store: Pick<Store, 'audit'>,
  input: {
    actor: Actor;
    /** the permission that was missing, or the rule that refused */
    permission?: Permission;
    rule?: string;
    /** what was attempted: a command, an action id, a verb */
    what?: string;
    target?: { type: string; id: string };
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await store.audit.append({
    actor: actorId(input.actor),
    action: 'authz.denied',
    ...(input.target ? { targetType: input.target.type, targetId: input.target.id } : {}),
    outcome: 'denied',
    details: {
      ...(input.permission ? { permission: input.permission } : {}),
      ...(input.rule ? { rule: input.rule } : {}),
      ...(input.what ? { what: input.what } : {}),
      ...input.details,
    },
  });
}

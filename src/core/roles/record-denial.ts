import { createHash } from 'node:crypto';
import { type Actor, actorId, type Permission } from '../permissions.js';
import type { Store } from '../store.js';

/** Identical refusals within this window after the first are counted, not written one row each. */
export const REFUSAL_WINDOW_MS = 10 * 60_000;

/**
 * A refused check, audited (DESIGN §3.4: "a denied check is answered ephemerally and audited"):
 * a missing permission, or a rule such as the two-person rule. The first of identical refusals
 * (same actor, attempt and reason) in {@link REFUSAL_WINDOW_MS} writes an `authz.denied` row, which
 * also says how many the previous window counted; the rest are only counted (issue #14, finding 6:
 * anyone in the workspace could otherwise grow the audit trail without bound).
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
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        actorId(input.actor),
        input.what ?? '',
        input.permission ?? '',
        input.rule ?? '',
        input.target ?? null,
      ]),
    )
    .digest('hex');
  const counted = await store.audit.countRefusal(key, REFUSAL_WINDOW_MS);
  if (!counted.first) {
    return;
  }
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
      ...(counted.previousWindow > 1 ? { repeatedInPreviousWindow: counted.previousWindow } : {}),
    },
  });
}

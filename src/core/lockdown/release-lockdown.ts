import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can, viaOf } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { LockdownDeps } from './ports.js';
import type { Lockdown } from './types.js';

export type ReleaseRefusal = 'forbidden' | 'not_found' | 'not_active';

/**
 * Release by hand (`/hostlock unlock`, the Unlock button, the API): moves an active lockdown to
 * `releasing` and wakes the engine, which releases through Defender. Only hostlock's own lockdowns
 * can be released: a host isolated outside hostlock has no lockdown to name.
 */
export async function releaseLockdown(
  deps: LockdownDeps,
  input: { actor: Actor; lockdownId: string; reason?: string },
): Promise<Result<Lockdown, ReleaseRefusal> & { current?: Lockdown }> {
  if (!can(input.actor, 'lockdown:edit')) {
    await recordDenial(deps, { actor: input.actor, permission: 'lockdown:edit', what: 'lockdown.release' });
    return err('forbidden');
  }
  const row = await deps.lockdowns.get(input.lockdownId);
  if (!row) {
    return err('not_found');
  }
  const now = deps.clock.now();
  const who = actorId(input.actor);
  const next = await deps.lockdowns.transition(
    row.id,
    'release',
    { releaseReason: 'manual', releasedBy: who, attempts: 0, nextCheckAt: now },
    { actor: who, via: viaOf(input.actor), details: { reason: input.reason ?? '' } },
  );
  if (!next) {
    return { ...err('not_active'), current: (await deps.lockdowns.get(row.id)) ?? row };
  }
  await deps.wake(next.id, now);
  return ok(next);
}

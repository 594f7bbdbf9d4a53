import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { approvalDeadline, firstPendingCheck } from './deadlines.js';
import type { LockdownDeps } from './ports.js';
import { announceRequest } from './request-lockdown.js';
import type { Lockdown } from './types.js';

export type ConfirmRefusal = 'not_found' | 'forbidden' | 'not_requester' | 'not_awaiting' | 'expired';

/**
 * The requester confirms a request made in their name by a Workflow Builder step (issue #18,
 * item 3): only then is it posted to the approvers. Only the requester may confirm, with
 * `lockdown:edit` at this moment; under the row's lock, so a double click confirms (and posts)
 * once. Cancelling is withdrawing (releaseLockdown). Returns the request as posted, and where it
 * could not be posted (`postProblem`).
 */
export async function confirmLockdown(
  deps: LockdownDeps,
  input: { actor: Actor; lockdownId: string },
): Promise<Result<{ lockdown: Lockdown; postProblem?: string }, ConfirmRefusal> & { current?: Lockdown }> {
  const who = actorId(input.actor);
  if (!can(input.actor, 'lockdown:edit')) {
    await recordDenial(deps, { actor: input.actor, permission: 'lockdown:edit', what: 'lockdown.confirm' });
    return err('forbidden');
  }
  const settings = await deps.settings();
  const now = deps.clock.now();
  const confirmed = await deps.lockdowns.withLock(
    input.lockdownId,
    async (row, store) => {
      if (row.requestedBy !== who) {
        return { refused: 'not_requester' as const, row };
      }
      if (!row.awaitingConfirmation || row.state !== 'pending_approval') {
        return { refused: 'not_awaiting' as const, row };
      }
      if (now.getTime() >= approvalDeadline(row, settings).getTime()) {
        // too late to ask anyone: it expires (the engine is woken below)
        return { refused: 'expired' as const, row };
      }
      // from now on it may be escalated (never while unconfirmed): looked at then, or at its deadline
      const next = await store.transition(
        row.id,
        'confirm',
        { awaitingConfirmation: false, nextCheckAt: firstPendingCheck(row, settings) },
        { actor: who, ...(row.requestedVia ? { via: row.requestedVia } : {}) },
      );
      return next ? { row: next } : { refused: 'not_awaiting' as const, row };
    },
    { wait: true },
  );
  if (confirmed === 'busy') {
    return err('not_found'); // a lock with wait only misses a row that does not exist
  }
  if ('refused' in confirmed && confirmed.refused) {
    if (confirmed.refused === 'expired') {
      await deps.wake(confirmed.row.id, now);
    }
    if (confirmed.refused === 'not_requester') {
      // someone else's request: audited like any refused check
      await recordDenial(deps, {
        actor: input.actor,
        rule: 'not_requester',
        target: { type: 'lockdown', id: confirmed.row.id },
        details: { attempted: 'lockdown.confirm' },
      });
    }
    return { ...err(confirmed.refused), current: confirmed.row };
  }
  const { lockdown, problem } = await announceRequest(deps, confirmed.row, null, {
    breakGlass: false,
    approval: true,
  });
  if (lockdown.nextCheckAt) {
    await deps.wake(lockdown.id, lockdown.nextCheckAt);
  }
  return ok({ lockdown, ...(problem ? { postProblem: problem } : {}) });
}

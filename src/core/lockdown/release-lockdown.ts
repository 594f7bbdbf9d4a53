import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can, viaOf } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { isOpen, type Trigger } from './machine.js';
import type { LockdownDeps } from './ports.js';
import { stopRequested } from './steps/stop.js';
import type { Lockdown, LockdownUpdate } from './types.js';

export type ReleaseRefusal = 'forbidden' | 'not_found' | 'not_open' | 'already_releasing';

/**
 * Unlock by hand (`/hostlock unlock`, the Unlock button, REST `DELETE`), in every open state
 * (issue #15, item 1):
 * - `pending_approval` → `withdrawn` (the requester, or anyone with `lockdown:edit`);
 * - `approved` or `isolating` → the stop is recorded and the engine woken: it asks Defender at once, cancels the
 *   isolation if it is still Pending / InProgress (`cancelled`), or releases at once if it already
 *   succeeded;
 * - `active` → `releasing`, released through Defender by the engine;
 * - `releasing` → refused as already under way.
 * Only hostlock's own lockdowns can be released: a host isolated outside hostlock has none.
 * Returns the row as it stands after the change.
 */
export async function releaseLockdown(
  deps: LockdownDeps,
  input: { actor: Actor; lockdownId: string; reason?: string },
): Promise<Result<Lockdown, ReleaseRefusal> & { current?: Lockdown }> {
  const who = actorId(input.actor);
  const by = { actor: who, via: viaOf(input.actor), details: { reason: input.reason ?? '' } };
  // The engine may move the row between our read and our write (approved → isolating): each
  // write is a compare-and-set, and a miss reads the row again and decides anew.
  for (let tries = 0; tries < 3; tries++) {
    const row = await deps.lockdowns.get(input.lockdownId);
    if (!row) {
      return err('not_found');
    }
    const ownRequest = row.state === 'pending_approval' && row.requestedBy === who;
    if (!can(input.actor, 'lockdown:edit') && !ownRequest) {
      await recordDenial(deps, { actor: input.actor, permission: 'lockdown:edit', what: 'lockdown.release' });
      return err('forbidden');
    }
    if (!isOpen(row.state)) {
      return { ...err('not_open'), current: row };
    }
    if (row.state === 'releasing' || stopRequested(row)) {
      return { ...err('already_releasing'), current: row };
    }
    const now = deps.clock.now();
    const stop: LockdownUpdate = { releaseReason: 'manual', releasedBy: who };
    const plan: Record<typeof row.state, [Trigger, LockdownUpdate]> = {
      pending_approval: ['withdraw', { ...stop, decidedAt: now, nextCheckAt: null }],
      approved: ['request_stop_approved', { ...stop, nextCheckAt: now }],
      isolating: ['request_stop', { ...stop, nextCheckAt: now }],
      active: ['release', { ...stop, attempts: 0, nextCheckAt: now }],
    };
    const [trigger, patch] = plan[row.state];
    const thread = trigger === 'withdraw' ? { thread: { name: 'lockdown.withdrawn' as const } } : {};
    const next = await deps.lockdowns.transition(row.id, trigger, patch, { ...by, ...thread });
    if (next) {
      if (next.nextCheckAt) {
        await deps.wake(next.id, now);
      }
      return ok(next);
    }
  }
  const current = await deps.lockdowns.get(input.lockdownId);
  return current && !isOpen(current.state)
    ? { ...err('not_open'), current }
    : { ...err('already_releasing'), ...(current ? { current } : {}) };
}

/**
 * Unlock every open lockdown of a request of several hosts (its Withdraw / Stop button, issue #18,
 * item 2): each host as `releaseLockdown` would, with the same checks per host (the requester may
 * withdraw their own pending hosts; anything else needs `lockdown:edit`). What happened to each.
 */
export async function releaseRequest(
  deps: LockdownDeps,
  input: { actor: Actor; requestId: string; reason?: string },
): Promise<Result<Array<Result<Lockdown, ReleaseRefusal> & { current?: Lockdown }>, ReleaseRefusal>> {
  const rows = await deps.lockdowns.ofRequest(input.requestId);
  if (rows.length === 0) {
    return err('not_found');
  }
  const open = rows.filter((r) => isOpen(r.state));
  if (open.length === 0) {
    return err('not_open');
  }
  const results = [];
  for (const row of open) {
    results.push(await releaseLockdown(deps, { ...input, lockdownId: row.id }));
  }
  return ok(results);
}

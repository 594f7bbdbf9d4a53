import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { approvalDeadline } from './deadlines.js';
import type { LockdownDeps } from './ports.js';
import type { Lockdown } from './types.js';

export type DecisionRefusal =
  | 'not_found'
  | 'forbidden'
  | 'self_approval'
  | 'not_pending'
  | 'expired'
  | 'containment_disabled'
  /** its requester has not confirmed it yet (a workflow's request): nobody may decide it */
  | 'unconfirmed';

/**
 * Approve or deny a pending request. Re-reads the row and the approver's permission at the click;
 * the requester can never decide their own request; a compare-and-set makes a double click (or
 * five deliveries of one click) decide once, and only the winner starts the isolation.
 */
export async function decideLockdown(
  deps: LockdownDeps,
  input: { actor: Actor; lockdownId: string; decision: 'approve' | 'deny' },
): Promise<Result<Lockdown, DecisionRefusal> & { current?: Lockdown }> {
  const row = await deps.lockdowns.get(input.lockdownId);
  if (!row) {
    return err('not_found');
  }
  if (row.requestId) {
    // one host of a request of several: the request is decided as one, never host by host
    const r = await decideRequest(deps, { ...input, requestId: row.requestId });
    return r.ok ? ok(r.value.find((l) => l.id === row.id) ?? r.value[0] ?? row) : r;
  }
  const refused = await decisionRefused(deps, input, row);
  if (refused) {
    return refused;
  }
  const d = decision(deps, input);
  const next = await deps.lockdowns.transition(row.id, d.trigger, d.patch, d.by);
  if (!next) {
    return notPending(deps, row);
  }
  await d.wake([next]);
  return ok(next);
}

/** What a decision writes — the same for one lockdown and for every host of a request — and the wake-ups after it. */
function decision(deps: LockdownDeps, input: { actor: Actor; decision: 'approve' | 'deny' }) {
  const now = deps.clock.now();
  const approve = input.decision === 'approve';
  const who = actorId(input.actor);
  return {
    trigger: approve ? ('approve' as const) : ('deny' as const),
    patch: { approvedBy: who, decidedAt: now, nextCheckAt: approve ? now : null },
    by: {
      actor: who,
      thread: { name: approve ? ('lockdown.approved' as const) : ('lockdown.denied' as const) },
    },
    /** the engine isolates what was approved at once */
    wake: async (moved: Lockdown[]) => {
      for (const l of approve ? moved : []) {
        await deps.wake(l.id, now);
      }
    },
  };
}

/** A decision that moved nothing: someone decided first; the row as it is now. */
async function notPending(
  deps: LockdownDeps,
  row: Lockdown,
): Promise<Result<never, DecisionRefusal> & { current: Lockdown }> {
  const current = (await deps.lockdowns.get(row.id)) ?? row;
  return { ...err('not_pending'), current };
}

/**
 * Approve or deny a request of several hosts (issue #18, item 2) with one click: the same checks
 * as for one lockdown, then every host still pending moves in one transaction, and only the rows
 * that moved are isolated. A host withdrawn from the request meanwhile stays withdrawn.
 */
export async function decideRequest(
  deps: LockdownDeps,
  input: { actor: Actor; requestId: string; decision: 'approve' | 'deny' },
): Promise<Result<Lockdown[], DecisionRefusal> & { current?: Lockdown }> {
  const rows = await deps.lockdowns.ofRequest(input.requestId);
  const row = rows.find((r) => r.state === 'pending_approval') ?? rows[0];
  if (!row) {
    return err('not_found');
  }
  const refused = await decisionRefused(deps, input, row);
  if (refused) {
    return refused;
  }
  const d = decision(deps, input);
  const moved = await deps.lockdowns.transitionRequest(input.requestId, d.trigger, d.patch, d.by);
  // ('busy' is only ever answered to `nowait`, which a click does not ask: it waits its turn)
  if (moved === 'busy' || moved.length === 0) {
    return notPending(deps, row);
  }
  await d.wake(moved);
  return ok(moved);
}

/**
 * What may stop a decision on `row`, read at the click: the approver's permission, a request
 * still pending, never the requester (or the person whose feed triggered it), containment on to
 * approve, and the approval deadline. Refusals by a rule are audited. Null when it may go ahead.
 */
async function decisionRefused(
  deps: LockdownDeps,
  input: { actor: Actor; decision: 'approve' | 'deny' },
  row: Lockdown,
): Promise<(Result<never, DecisionRefusal> & { current?: Lockdown }) | null> {
  if (!can(input.actor, 'lockdown:approve')) {
    await recordDenial(deps, {
      actor: input.actor,
      permission: 'lockdown:approve',
      what: `lockdown.${input.decision}`,
    });
    return { ...err('forbidden'), current: row };
  }
  if (row.state !== 'pending_approval') {
    return { ...err('not_pending'), current: row };
  }
  if (row.awaitingConfirmation) {
    // approvers are shown a workflow's request only once its requester confirmed it: a click
    // before that (a forged value) must not let a workflow's builder approve what they caused
    return { ...err('unconfirmed'), current: row };
  }
  const who = actorId(input.actor);
  // the requester, or the person whose score feed triggered an automatic lockdown
  if (who === row.requestedBy || who === row.trigger?.sentBy?.actor) {
    // the two-person rule refused a click: audited like any denied check (DESIGN §3.4)
    await recordDenial(deps, {
      actor: input.actor,
      rule: 'self_approval',
      target: { type: 'lockdown', id: row.id },
      details: { attempted: `lockdown.${input.decision}` },
    });
    return { ...err('self_approval'), current: row };
  }
  const settings = await deps.settings();
  // lookup-only mode: no approval isolates anything; a denial still closes the request
  if (input.decision === 'approve' && !settings.containmentEnabled) {
    await recordDenial(deps, {
      actor: input.actor,
      rule: 'lookup_only',
      what: 'lockdown.approve',
      target: { type: 'lockdown', id: row.id },
    });
    return { ...err('containment_disabled'), current: row };
  }
  const now = deps.clock.now();
  if (now.getTime() >= approvalDeadline(row, settings).getTime()) {
    await deps.wake(row.id, now);
    return { ...err('expired'), current: row };
  }
  return null;
}

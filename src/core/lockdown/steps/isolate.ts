import {
  approvalDeadline,
  escalationAt,
  isolationGiveUpAt,
  nextActiveCheck,
  nextFollowAt,
  plannedEnd,
} from '../deadlines.js';
import type { Lockdown } from '../types.js';
import {
  ACTIVE,
  actionTag,
  commentText,
  FINAL_BAD,
  fail,
  isOurs,
  isStuck,
  later,
  machineActions,
  move,
  now,
  recordIsolated,
  retryOrFail,
  type Step,
  SYSTEM,
  stuck,
  submit,
  update,
  usableDefender,
  waitForOtherAction,
} from './context.js';
import { releaseAtOnce } from './stop.js';

// The isolation half of the engine: expire an undecided request, isolate, follow the isolation
// until Defender confirms it.

/**
 * pending_approval: escalates the request once when nobody decided within the escalation time
 * (issue #15, item 5), then waits for the approval deadline and expires it.
 */
export const stepPending: Step = async (c, l) => {
  const deadline = approvalDeadline(l, c.settings);
  const at = now(c);
  // a request its requester has not confirmed was never shown to approvers: nothing to escalate
  const escalate = l.awaitingConfirmation ? null : escalationAt(l, c.settings);
  const due = at.getTime() >= deadline.getTime() || (escalate && at.getTime() >= escalate.getTime());
  if (due && l.requestId && !(await c.store.tryLockRequest(l.requestId))) {
    // another worker is moving this request's hosts (this one with them): look again shortly
    await update(c, l, { nextCheckAt: later(c, REQUEST_BUSY_RETRY_MS) });
    return l.state;
  }
  if (escalate && at.getTime() >= escalate.getTime() && at.getTime() < deadline.getTime()) {
    const to = { channel: c.settings.escalationChannel, usergroup: c.settings.escalationUsergroup };
    const where = [to.channel && `channel ${to.channel}`, to.usergroup && `user group ${to.usergroup}`];
    const moved = await moveRequest(
      c,
      l,
      'escalate',
      { escalatedAt: at, nextCheckAt: deadline },
      {
        why: `nobody decided within ${c.settings.escalateAfterMinutes} min; escalated to ${where.filter(Boolean).join(' and ')}`,
        ...to,
      },
    );
    if (moved) {
      c.notes.push({ name: 'lockdown.escalated', escalate: to });
    }
    return l.state;
  }
  if (at.getTime() < deadline.getTime()) {
    const next = escalate ?? deadline; // escalationAt is before the deadline or null
    await update(c, l, { nextCheckAt: next });
    return l.state;
  }
  if (!(await moveRequest(c, l, 'expire_request', { decidedAt: now(c), nextCheckAt: null }))) {
    return l.state;
  }
  c.notes.push({ name: 'lockdown.approval_expired' });
  return 'approval_expired';
};

const REQUEST_BUSY_RETRY_MS = 1_000;

/**
 * A pending lockdown's escalation or expiry; for a host of a request of several (issue #18,
 * item 2), every host of it still pending moves with it, once: one escalation, one expiry. The
 * caller holds the request's lock, so no other step moves its hosts meanwhile; a step of another
 * host holding its row gives up the request's lock at once (tryLockRequest), so waiting for its
 * row cannot deadlock.
 */
async function moveRequest(
  c: Parameters<Step>[0],
  l: Lockdown,
  trigger: 'escalate' | 'expire_request',
  patch: Parameters<typeof move>[3],
  details?: Record<string, unknown>,
): Promise<boolean> {
  if (!l.requestId) {
    await move(c, l, trigger, patch, details);
    return true;
  }
  const moved = await c.store.transitionRequest(
    l.requestId,
    trigger,
    patch,
    { actor: SYSTEM, ...(details ? { details } : {}) },
    { nowait: true },
  );
  if (moved === 'busy') {
    // a click deciding the request holds one of its hosts: look again shortly (it may have decided)
    await update(c, l, { nextCheckAt: later(c, REQUEST_BUSY_RETRY_MS) });
    return false;
  }
  if (!moved.some((m) => m.id === l.id)) {
    throw new Error(`lockdown ${l.id} (${l.state}) cannot ${trigger}, or changed under its own lock`);
  }
  return true;
}

/** approved, or isolating with no action recorded (a crash between submit and save). */
export const stepIsolate: Step = async (c, l) => {
  const d = await usableDefender(c, l, 'isolate');
  if (!d) {
    return l.state;
  }
  const row = l.state === 'approved' ? await move(c, l, 'start_isolation', { attempts: l.attempts + 1 }) : l;
  const actions = await machineActions(d, row);
  const ours = actions.find((a) => a.type === 'Isolate' && isOurs(a, row) && !FINAL_BAD.has(a.status));
  if (ours) {
    await update(c, row, { mdeActionId: ours.id, nextCheckAt: now(c) });
    return followIsolation(c, { ...row, mdeActionId: ours.id });
  }
  const newest = actions[0];
  if (newest && ACTIVE.has(newest.status)) {
    return waitForOtherAction(c, row);
  }
  if (newest?.type === 'Isolate' && newest.status === 'Succeeded') {
    return fail(c, row, 'the host was isolated outside hostlock meanwhile; hostlock will not take it over');
  }
  // lookup-only mode (issue #18, item 6): no new isolation is sent, whenever it was approved
  if (!c.settings.containmentEnabled) {
    return fail(c, row, 'containment is off (lookup-only mode): nothing was sent to Defender');
  }
  // committed so far: `approved` (or `isolating` with no action); this step's writes are not
  c.deps.faults?.('after_approve_commit');
  return submit(c, row, 'isolate', () => d.isolate(row.machineId, isolationComment(row), row.isolationType));
};

/** isolating with an action: active once Defender reports Succeeded. */
export const followIsolation: Step = async (c, l) => {
  const d = await usableDefender(c, l, 'release');
  if (!d || !l.mdeActionId) {
    return l.state;
  }
  const action = await d.getAction(l.mdeActionId);
  c.deps.faults?.('during_isolation_poll');
  const at = now(c);
  if (action?.status === 'Succeeded') {
    const expiresAt = plannedEnd(at, l);
    await recordIsolated(
      c,
      l,
      {
        lockedAt: at,
        expiresAt,
        nextCheckAt: nextActiveCheck(expiresAt, { reminded: false, now: at, timing: c.deps.timing }),
      },
      { expiresAt: expiresAt.toISOString() },
    );
    return 'active';
  }
  if (!action || FINAL_BAD.has(action.status)) {
    return retryOrFail(c, l, new Error(`Defender isolation ${action?.status ?? 'vanished'}`), 'isolate', {
      clearAction: true,
    });
  }
  // Pending / InProgress. MDE keeps retrying an offline device for days (mde-api.md §6.1).
  if (at.getTime() >= isolationGiveUpAt(l).getTime()) {
    const cancelled = await d.cancelAction(
      action.id,
      `${actionTag(l.id)} lockdown time ran out before isolation`,
    );
    if (cancelled.status === 'Succeeded') {
      // Defender finished it just before the cancel: the host is isolated, and its time is up
      return releaseAtOnce(c, l, {}, { reason: 'expired', by: SYSTEM });
    }
    return fail(
      c,
      l,
      'the lockdown time ran out while Defender was still trying to isolate the (offline?) device; the isolation was cancelled',
    );
  }
  const nextCheckAt = nextFollowAt(at, action.updatedAt ?? action.createdAt, c.deps.timing);
  if (isStuck(c, l, action, at)) {
    return stuck(c, l, 'isolation_stuck', action, at, nextCheckAt);
  }
  await update(c, l, { nextCheckAt });
  return l.state;
};

function isolationComment(l: Lockdown): string {
  const by = l.approvedBy ? `, approved by ${l.approvedBy}` : '';
  return `${actionTag(l.id)} hostlock lockdown for ${l.durationMinutes / 60} h requested by ${commentText(l.requestedBy, 100)}${commentText(by, 120)}: ${commentText(l.reason) || 'no reason given'}`;
}

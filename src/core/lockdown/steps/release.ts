import { nextActiveCheck, nextFollowAt } from '../deadlines.js';
import type { LockdownState } from '../machine.js';
import type { Lockdown } from '../types.js';
import {
  ACTIVE,
  actionTag,
  EARLY_TOLERANCE_MS,
  FINAL_BAD,
  isOurs,
  isStuck,
  later,
  machineActions,
  move,
  now,
  retryOrFail,
  type Step,
  type StepContext,
  SYSTEM,
  stuck,
  submit,
  update,
  usableDefender,
  waitForOtherAction,
} from './context.js';

// The release half of the engine: remind, release at expiry, follow the release, and notice a
// host released (or isolated again) outside hostlock.

/** active: the reminder, the release at the end, or a look at Defender when woken early. */
export const stepActive: Step = async (c, l) => {
  const at = now(c);
  const end = l.expiresAt?.getTime();
  // A trigger may come up to EARLY_TOLERANCE_MS early: that is the planned moment, not an early
  // wake-up, so it reminds (or waits for the end) rather than spending Defender calls on a check.
  // The release itself never comes before expires_at: the lockdown lasts at least its time.
  const soon = at.getTime() + EARLY_TOLERANCE_MS;
  if (l.expiresAt && end !== undefined && at.getTime() < end && soon >= end) {
    if (l.nextCheckAt?.getTime() !== end) {
      await update(c, l, { nextCheckAt: l.expiresAt });
    }
    return l.state; // each process's 1 s tick takes it up once expires_at has passed
  }
  if (end !== undefined && at.getTime() >= end) {
    const row = await move(
      c,
      l,
      'expire',
      { releaseReason: 'expired', releasedBy: SYSTEM, attempts: 0 },
      { reason: 'expired' },
    );
    return stepRelease(c, row);
  }
  if (l.expiresAt && end !== undefined && !l.remindedAt && soon >= end - c.deps.timing.reminderBeforeMs) {
    await update(c, l, { remindedAt: at, nextCheckAt: l.expiresAt });
    c.notes.push({ name: 'ending_soon' });
    return l.state;
  }
  // Woken early (the inventory sync saw the host change): was it released outside hostlock?
  const d = c.defender;
  if (typeof d !== 'string') {
    const newest = (await machineActions(d, l))[0];
    if (newest?.type === 'Unisolate' && newest.status === 'Succeeded' && !isOurs(newest, l)) {
      return endExternally(c, l, 'released outside hostlock');
    }
  }
  await update(c, l, {
    nextCheckAt: l.expiresAt
      ? nextActiveCheck(l.expiresAt, { reminded: !!l.remindedAt, now: at, timing: c.deps.timing })
      : later(c, 60_000),
  });
  return l.state;
};

/** releasing with no action recorded: asks Defender to release, unless someone else already did. */
export const stepRelease: Step = async (c, l) => {
  const d = await usableDefender(c, l, 'release');
  if (!d) {
    return l.state;
  }
  const actions = await machineActions(d, l);
  const ours = actions.find((a) => a.type === 'Unisolate' && isOurs(a, l) && !FINAL_BAD.has(a.status));
  if (ours) {
    await update(c, l, { mdeReleaseActionId: ours.id });
    return followRelease(c, { ...l, mdeReleaseActionId: ours.id });
  }
  const newest = actions[0];
  if (newest && ACTIVE.has(newest.status)) {
    return waitForOtherAction(c, l);
  }
  const decided = actions.find((a) => a.status === 'Succeeded');
  if (decided && decided.id !== l.mdeActionId) {
    // Released by someone else, or isolated again by someone else: either way not ours to release.
    return endExternally(
      c,
      l,
      decided.type === 'Unisolate' ? 'released outside hostlock' : 'isolated again outside hostlock',
    );
  }
  return submit(c, l, 'release', () => d.release(l.machineId, releaseComment(l)));
};

/** releasing with an action: released once Defender reports Succeeded. */
export const followRelease: Step = async (c, l) => {
  const d = await usableDefender(c, l, 'release');
  if (!d || !l.mdeReleaseActionId) {
    return l.state;
  }
  const action = await d.getAction(l.mdeReleaseActionId);
  if (action?.status === 'Succeeded') {
    await move(
      c,
      l,
      'released',
      { releasedAt: now(c), nextCheckAt: null, lastError: null },
      { reason: l.releaseReason, mdeActionId: l.mdeReleaseActionId },
    );
    c.hostUpdates.push({
      machineId: l.machineId,
      state: 'not_isolated',
      source: null,
      actionId: l.mdeReleaseActionId,
    });
    c.notes.push({ name: 'lockdown.released' });
    return 'released';
  }
  if (!action || FINAL_BAD.has(action.status)) {
    return retryOrFail(c, l, new Error(`Defender release ${action?.status ?? 'vanished'}`), 'release', {
      clearAction: true,
    });
  }
  const at = now(c);
  const nextCheckAt = nextFollowAt(at, action.updatedAt ?? action.createdAt, c.deps.timing);
  if (isStuck(c, l, action, at)) {
    return stuck(c, l, 'release_stuck', action, at, nextCheckAt);
  }
  await update(c, l, { nextCheckAt });
  return l.state;
};

async function endExternally(c: StepContext, l: Lockdown, why: string): Promise<LockdownState> {
  await move(
    c,
    l,
    'released_outside',
    { releaseReason: 'external', releasedAt: now(c), nextCheckAt: null, lastError: why },
    { why },
  );
  c.notes.push({ name: 'host.released_externally', detail: why });
  return 'released_externally';
}

function releaseComment(l: Lockdown): string {
  return `${actionTag(l.id)} hostlock release (${l.releaseReason ?? 'manual'}) by ${l.releasedBy ?? SYSTEM}`;
}

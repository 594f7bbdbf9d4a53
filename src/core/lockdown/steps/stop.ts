import type { DefenderAction } from '../../defender.js';
import { isBudgetSpent } from '../../defender-budget.js';
import type { Lockdown } from '../types.js';
import {
  actionTag,
  commentText,
  FINAL_BAD,
  isOurs,
  later,
  machineActions,
  move,
  now,
  recordIsolated,
  type Step,
  type StepContext,
  update,
  usableDefender,
} from './context.js';
import { stepRelease } from './release.js';

// `unlock` while Defender is isolating (issue #15, item 1): the verb records who asked on the row
// (`releasedBy` while `isolating`); this step asks Defender at once and ends the lockdown
// `cancelled` when the isolation had not finished, or records it and releases at once when it had.

/** True while an approved or isolating lockdown waits for the engine to stop it. */
export const stopRequested = (l: Lockdown): boolean =>
  (l.state === 'approved' || l.state === 'isolating') && l.releasedBy !== null;

/** Look again this soon when Defender's answer to a cancel leaves the outcome open. */
const RECHECK_MS = 1_000;

export const stepStopIsolation: Step = async (c, start) => {
  const d = await usableDefender(c, start, 'release');
  if (!d) {
    return start.state;
  }
  // approved: an isolate POST may have gone out before a crash; from here it is treated as isolating
  const l = start.state === 'approved' ? await move(c, start, 'start_isolation', {}) : start;
  if (!l.mdeActionId) {
    // a crash between submit and save leaves no id: Defender's list says whether one was sent
    const ours = (await machineActions(d, l)).find(
      (a) => a.type === 'Isolate' && isOurs(a, l) && !FINAL_BAD.has(a.status),
    );
    return ours
      ? stopAction(c, { ...l, mdeActionId: ours.id }, ours, true)
      : cancelled(c, l, 'nothing had reached Defender yet');
  }
  return stopAction(c, l, await d.getAction(l.mdeActionId), false);
};

async function stopAction(
  c: StepContext,
  l: Lockdown,
  action: DefenderAction | null,
  recordId: boolean,
): Promise<Lockdown['state']> {
  const ids = recordId ? { mdeActionId: l.mdeActionId } : {};
  if (!action || FINAL_BAD.has(action.status)) {
    return cancelled(c, l, `Defender's isolation had ended ${action?.status ?? 'without a trace'}`, ids);
  }
  if (action.status === 'Succeeded') {
    return releaseAtOnce(c, l, ids);
  }
  const d = c.defender;
  if (typeof d === 'string') {
    return l.state;
  }
  let after: DefenderAction;
  try {
    after = await d.cancelAction(
      action.id,
      `${actionTag(l.id)} stopped by ${commentText(l.releasedBy ?? 'hostlock', 100)} before the isolation finished`,
    );
  } catch (e) {
    if (isBudgetSpent(e)) {
      throw e;
    }
    // Defender may have finished (or failed) it meanwhile: its status decides on the next look
    await update(c, l, {
      ...ids,
      nextCheckAt: later(c, RECHECK_MS),
      lastError: `cancel: ${e instanceof Error ? e.message : String(e)}`,
    });
    return l.state;
  }
  if (after.status === 'Succeeded') {
    return releaseAtOnce(c, l, ids);
  }
  return cancelled(c, l, "Defender's isolation was cancelled before it finished", ids);
}

async function cancelled(
  c: StepContext,
  l: Lockdown,
  why: string,
  extra: { mdeActionId?: string | null } = {},
): Promise<'cancelled'> {
  await move(c, l, 'cancel_isolation', { ...extra, releasedAt: now(c), nextCheckAt: null }, { why });
  c.notes.push({ name: 'lockdown.cancelled', detail: why });
  return 'cancelled';
}

/**
 * Defender finished the isolation before the stop (or the give-up) reached it: record it, then
 * release at once, as a person's unlock, or as the end of the lockdown's time.
 */
export async function releaseAtOnce(
  c: StepContext,
  l: Lockdown,
  extra: { mdeActionId?: string | null },
  how: { reason: 'manual' | 'expired'; by: string | null } = { reason: 'manual', by: l.releasedBy },
): Promise<Lockdown['state']> {
  const at = now(c);
  const active = await recordIsolated(
    c,
    l,
    { ...extra, lockedAt: at, expiresAt: at, nextCheckAt: at },
    { stopRequestedBy: how.by },
  );
  const releasing = await move(
    c,
    active,
    'release',
    { releaseReason: how.reason, releasedBy: how.by, attempts: 0, nextCheckAt: at },
    {
      reason: how.reason === 'manual' ? 'unlocked while Defender was isolating' : 'the lockdown time ran out',
    },
  );
  return stepRelease(c, releasing);
}

import { isBudgetSpent } from '../defender-budget.js';
import type { Isolation } from '../hosts/derive-isolation.js';
import { isOpen, type LockdownState, type OpenLockdownState } from './machine.js';
import type { LockdownDeps } from './ports.js';
import { EARLY_TOLERANCE_MS, type Note, type Step } from './steps/context.js';
import { followIsolation, stepIsolate, stepPending } from './steps/isolate.js';
import { followRelease, stepActive, stepRelease } from './steps/release.js';
import { stepStopIsolation, stopRequested } from './steps/stop.js';

export { actionTag, EARLY_TOLERANCE_MS } from './steps/context.js';

const BUSY_RETRY_MS = 1_000;

/** What each open state's step does; closed states have none and are left alone. */
const STEPS: Record<OpenLockdownState, Step> = {
  pending_approval: stepPending,
  approved: (c, l) => (stopRequested(l) ? stepStopIsolation(c, l) : stepIsolate(c, l)),
  isolating: (c, l) =>
    stopRequested(l) ? stepStopIsolation(c, l) : l.mdeActionId ? followIsolation(c, l) : stepIsolate(c, l),
  active: stepActive,
  releasing: (c, l) => (l.mdeReleaseActionId ? followRelease(c, l) : stepRelease(c, l)),
};

/**
 * The most Defender calls one step of each state makes: a look at the machine's actions and a
 * submit, or a status read and a cancel; one more for a step that finds its own action and
 * follows it at once. Closed states make none.
 */
const CALLS: Record<LockdownState, number> = {
  pending_approval: 0,
  approved: 3,
  isolating: 3,
  active: 3,
  releasing: 3,
  approval_expired: 0,
  denied: 0,
  released: 0,
  failed: 0,
  released_externally: 0,
  withdrawn: 0,
  cancelled: 0,
};

/**
 * Does whatever is due for one lockdown now, holding its row lock (so duplicate jobs, several
 * processes and the sweeper never act twice): expire an undecided request, isolate, follow the
 * isolation, remind, release, follow the release. Every Defender call is preceded by a look at
 * the machine's actions, because Defender has no idempotency key. Announcements go out after the
 * transaction commits. Returns the state reached, or 'busy' when another worker holds the row.
 */
export async function advanceLockdown(
  deps: LockdownDeps,
  lockdownId: string,
): Promise<LockdownState | 'busy' | 'missing'> {
  const notes: Note[] = [];
  const hostUpdates: Array<{ machineId: string } & Isolation> = [];
  const current = await deps.lockdowns.get(lockdownId);
  if (!current) {
    return 'missing'; // a stale trigger for a row that does not exist: nothing to do, nothing to re-wake
  }
  const before = current.nextCheckAt;
  // Read settings and the Defender client before taking the row lock: inside the transaction only
  // the transaction's own connection is used, so concurrent steps cannot starve the pool.
  // A pause stops new isolations, not releases: hostlock never leaves a host isolated past its time.
  const [settings, defender] = await Promise.all([
    deps.settings(),
    deps.defender({ evenIfPaused: true, purpose: 'lockdown' }),
  ]);
  const calls = typeof defender === 'string' ? 0 : CALLS[current.state];
  const step = () =>
    deps.lockdowns.withLock(lockdownId, async (row, store) => {
      // An early or duplicate trigger finds nothing due: the row's next_check_at is the schedule.
      // Agenda may start a job a little before its time (it locks what falls due within its poll
      // period), so "due" has a small tolerance.
      if (!row.nextCheckAt || row.nextCheckAt.getTime() > deps.clock.now().getTime() + EARLY_TOLERANCE_MS) {
        return row.state;
      }
      if (!isOpen(row.state)) {
        return row.state;
      }
      if (typeof defender !== 'string' && CALLS[row.state] > calls) {
        return 'busy' as const; // it moved on since it was read (approved meanwhile): set calls aside first
      }
      const reached = await STEPS[row.state]({ deps, store, settings, defender, notes, hostUpdates }, row);
      // the thread is told in the step's own transaction: the posts commit with the change, in order
      const latest = notes.some((n) => !n.escalate) ? await store.get(lockdownId) : null;
      for (const n of notes) {
        if (latest && !n.escalate) {
          await store.note(latest, n.name, n.detail);
        }
      }
      return reached;
    });
  // The step's Defender calls are set aside before the row lock is taken: no step waits for
  // budget while holding a lock (issue #14, finding 4). One it runs short of ends the step
  // unchanged (rolled back) and it is tried again shortly.
  let outcome: LockdownState | 'busy';
  try {
    outcome =
      typeof defender === 'string' || calls === 0 ? await step() : await defender.withCalls(calls, step);
  } catch (e) {
    if (!isBudgetSpent(e)) {
      throw e;
    }
    outcome = 'busy';
  }
  if (outcome === 'busy') {
    // Another worker holds the row. It may be an early trigger that changes nothing and so wakes
    // nobody: look again shortly rather than waiting for the next sweep.
    await deps.wake(lockdownId, new Date(deps.clock.now().getTime() + BUSY_RETRY_MS));
    return 'busy';
  }
  if (hostUpdates.length) {
    await deps.hosts.setIsolation(hostUpdates);
  }
  const after = await deps.lockdowns.get(lockdownId);
  if (after) {
    for (const n of notes) {
      if (n.escalate) {
        await deps.announce.escalated(after, n.escalate);
      }
    }
    if (notes.length || outcome !== after.state || after.nextCheckAt?.getTime() !== before?.getTime()) {
      if (after.nextCheckAt && isOpen(after.state)) {
        await deps.wake(after.id, after.nextCheckAt);
      }
    }
  }
  return after?.state ?? 'missing';
}

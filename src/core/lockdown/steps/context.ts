import type { Defender, DefenderAction } from '../../defender.js';
import { isBudgetSpent } from '../../defender-budget.js';
import type { EventName, ThreadNote } from '../../events.js';
import type { CrashPoint } from '../../faults.js';
import type { Isolation } from '../../hosts/derive-isolation.js';
import type { DefenderUnavailable } from '../../hosts/ports.js';
import type { Settings } from '../../settings/settings.js';
import { isolationGiveUpAt, nextFollowAt } from '../deadlines.js';
import type { LockdownState, Trigger } from '../machine.js';
import type { Escalation, LockdownDeps } from '../ports.js';
import type { Lockdown, LockdownStore, LockdownUpdate } from '../types.js';

// What one step of the engine works with (see `advance-lockdown.ts`), and the helpers every step
// ends in: bookkeeping, transitions, the Defender look-ups, and the retry / fail paths.

/** What Defender's comment starts with so hostlock recognises its own actions, even after a crash. */
export const actionTag = (lockdownId: string) => `[hostlock:${lockdownId}]`;
/**
 * Ours only when the comment starts with the tag: a tag anywhere else (someone's free text, a
 * portal comment quoting ours) does not make an action hostlock's (issue #14, finding 15).
 */
export const isOurs = (a: DefenderAction, l: Lockdown) =>
  (a.comment ?? '').trimStart().startsWith(actionTag(l.id));

/** Free text (a reason, a name) for a Defender comment: no brackets to forge a tag, one line, capped. */
export function commentText(text: string, max = 300): string {
  const flat = [...text]
    .map((c) => {
      const code = c.codePointAt(0) ?? 0;
      return code < 0x20 || code === 0x7f || c === '\u2028' || c === '\u2029' ? ' ' : c;
    })
    .join('')
    .replace(/\[/g, '(')
    .replace(/\]/g, ')')
    .replace(/ {2,}/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
export const ACTIVE = new Set(['Pending', 'InProgress']);
export const FINAL_BAD = new Set(['Failed', 'TimeOut', 'Cancelled']);
/** Agenda may start a job a little early; timestamps written by SQL carry microseconds. */
export const EARLY_TOLERANCE_MS = 2_000;
export const SYSTEM = 'system:hostlock';

export type Note = {
  name: EventName | ThreadNote;
  detail?: string;
  /** for `lockdown.escalated`: where the request goes again */
  escalate?: Escalation;
};

/** One step's context: the row's locked store, and what it tells people once it commits. */
export interface StepContext {
  deps: LockdownDeps;
  store: LockdownStore;
  settings: Settings;
  defender: Defender | DefenderUnavailable;
  /** thread notes and events, announced after the transaction commits */
  notes: Note[];
  /** isolation facts for the host inventory, written after the transaction commits */
  hostUpdates: Array<{ machineId: string } & Isolation>;
}

/** A step function: does what the row's state calls for and returns the state reached. */
export type Step = (c: StepContext, l: Lockdown) => Promise<LockdownState>;

export const now = (c: StepContext): Date => c.deps.clock.now();
export const later = (c: StepContext, ms: number): Date => new Date(now(c).getTime() + ms);

/** Bookkeeping in the row's current state; the row is locked, so a miss is a bug, not a race. */
export async function update(c: StepContext, l: Lockdown, patch: LockdownUpdate): Promise<Lockdown> {
  const next = await c.store.update(l.id, [l.state], patch);
  if (!next) {
    throw new Error(`lockdown ${l.id} changed under its own lock`);
  }
  return next;
}

/** A transition of the table, made by the engine itself. */
export async function move(
  c: StepContext,
  l: Lockdown,
  trigger: Trigger,
  patch: LockdownUpdate,
  details?: Record<string, unknown>,
): Promise<Lockdown> {
  const next = await c.store.transition(l.id, trigger, patch, {
    actor: SYSTEM,
    ...(details ? { details } : {}),
  });
  if (!next) {
    throw new Error(`lockdown ${l.id} (${l.state}) cannot ${trigger}, or changed under its own lock`);
  }
  return next;
}

/** Defender when it may be used for `purpose` (a pause stops isolations, not releases); else waits a minute. */
export async function usableDefender(
  c: StepContext,
  l: Lockdown,
  purpose: 'isolate' | 'release',
): Promise<Defender | null> {
  const d = c.defender;
  const why =
    typeof d === 'string' ? d : purpose === 'isolate' && c.settings.mdeState === 'paused' ? 'paused' : null;
  if (why || typeof d === 'string') {
    // paused or unconfigured: look again later, nothing is lost
    await update(c, l, {
      nextCheckAt: later(c, 60_000),
      lastError: `Defender ${(why ?? 'unavailable').replace('_', ' ')}`,
    });
    return null;
  }
  return d;
}

/** The machine's isolate / release actions, newest first. */
export async function machineActions(d: Defender, l: Lockdown): Promise<DefenderAction[]> {
  const list = await d.listActions({ machineId: l.machineId, top: 50 });
  return list.filter((a) => a.type === 'Isolate' || a.type === 'Unisolate');
}

/** Ends the lockdown `failed`, telling the thread why. */
export async function fail(c: StepContext, l: Lockdown, why: string, extra: LockdownUpdate = {}) {
  await move(c, l, 'fail', { ...extra, lastError: why, nextCheckAt: null }, { why });
  c.notes.push({ name: 'lockdown.failed', detail: why });
  return 'failed' as const;
}

/**
 * A failed isolate / release: retried with backoff while attempts remain (Defender's
 * ActiveRequestAlreadyExists is "already in progress", not a failure). Before giving up, Defender's
 * list is read again: an action tagged with this lockdown (a send whose answer was lost or
 * unreadable) is adopted and followed, never left isolating a host with no lockdown to end it.
 * An isolation then ends `failed`; a release never does: hostlock keeps trying at the longest
 * backoff and says so once (`lockdown.stuck`), since a host must not stay isolated past its time.
 */
export async function retryOrFail(
  c: StepContext,
  l: Lockdown,
  e: unknown,
  what: 'isolate' | 'release',
  o: { clearAction?: boolean } = {},
): Promise<LockdownState> {
  const message = e instanceof Error ? e.message : String(e);
  const alreadyInFlight =
    (e as { isActiveRequestAlreadyExists?: boolean }).isActiveRequestAlreadyExists === true;
  const retryable = alreadyInFlight || (e as { retryable?: boolean }).retryable !== false || o.clearAction;
  const attempts = l.attempts + (alreadyInFlight ? 0 : 1);
  const clear: LockdownUpdate = o.clearAction
    ? what === 'isolate'
      ? { mdeActionId: null }
      : { mdeReleaseActionId: null }
    : {};
  const { timing } = c.deps;
  const backoff = timing.retryBackoffMs;
  if (retryable && attempts < timing.maxAttempts) {
    const wait = alreadyInFlight
      ? timing.trackEveryMs
      : (backoff[Math.min(attempts - 1, backoff.length - 1)] ?? 60_000);
    await update(c, l, { ...clear, attempts, lastError: message, nextCheckAt: later(c, wait) });
    return l.state;
  }
  const adopted = await adoptOwnAction(c, l, what, attempts, message);
  if (adopted) {
    return adopted;
  }
  if (what === 'release') {
    const slowest = backoff[backoff.length - 1] ?? 300_000;
    const row = await update(c, l, {
      ...clear,
      attempts,
      lastError: message,
      nextCheckAt: later(c, slowest),
    });
    if (!l.pendingNotedAt) {
      const why = `the release keeps failing (${message}); hostlock keeps trying every ${Math.round(slowest / 60_000)} min — check the host in Defender`;
      await move(c, row, 'release_stuck', { pendingNotedAt: now(c) }, { why });
      c.notes.push({ name: 'lockdown.stuck', detail: 'release failing' });
    }
    return l.state;
  }
  return fail(c, l, `${what} failed: ${message}`, clear);
}

/** An action of this lockdown Defender knows of (not failed): recorded, and followed from now. */
async function adoptOwnAction(
  c: StepContext,
  l: Lockdown,
  what: 'isolate' | 'release',
  attempts: number,
  message: string,
): Promise<LockdownState | null> {
  const d = c.defender;
  if (typeof d === 'string') {
    return null;
  }
  const type = what === 'isolate' ? 'Isolate' : 'Unisolate';
  const ours = (await machineActions(d, l)).find(
    (a) => a.type === type && isOurs(a, l) && !FINAL_BAD.has(a.status),
  );
  if (!ours) {
    return null;
  }
  await update(c, l, {
    ...(what === 'isolate' ? { mdeActionId: ours.id } : { mdeReleaseActionId: ours.id }),
    attempts,
    lastError: `${message} (Defender has the ${type.toLowerCase()} all the same: followed)`,
    nextCheckAt: now(c),
  });
  return l.state;
}

/**
 * Defender reports the isolation Succeeded: the lockdown is `active` from `at` (its timer starts),
 * the inventory learns the host is isolated by hostlock, and the thread is told.
 */
export async function recordIsolated(
  c: StepContext,
  l: Lockdown,
  patch: LockdownUpdate & { lockedAt: Date; expiresAt: Date; nextCheckAt: Date },
  details: Record<string, unknown>,
): Promise<Lockdown> {
  const active = await move(
    c,
    l,
    'isolated',
    { ...patch, lastError: null, pendingNotedAt: null },
    {
      mdeActionId: patch.mdeActionId ?? l.mdeActionId,
      ...details,
    },
  );
  c.hostUpdates.push({
    machineId: l.machineId,
    state: 'isolated_by_hostlock',
    source: 'hostlock',
    actionId: patch.mdeActionId ?? l.mdeActionId,
  });
  c.notes.push({ name: 'lockdown.locked' });
  return active;
}

/** Defender has kept `action` Pending / InProgress past the stuck limit, and nobody was told yet. */
export function isStuck(c: StepContext, l: Lockdown, action: DefenderAction, at: Date): boolean {
  return !l.pendingNotedAt && at.getTime() - action.createdAt.getTime() >= c.deps.timing.pendingNoteAfterMs;
}

/**
 * Tells everyone once that Defender is not getting through (issue #15, item 6): the
 * `lockdown.stuck` event reaches the alert channels and syslog, and the thread mentions the
 * requester and the approver. The lockdown keeps following the action.
 */
export async function stuck(
  c: StepContext,
  l: Lockdown,
  trigger: 'isolation_stuck' | 'release_stuck',
  action: DefenderAction,
  at: Date,
  nextCheckAt: Date,
): Promise<LockdownState> {
  const minutes = Math.floor((at.getTime() - action.createdAt.getTime()) / 60_000);
  const why = `Defender has kept the ${trigger === 'isolation_stuck' ? 'isolation' : 'release'} ${action.status} for ${minutes} min (action ${action.id}); the device may be offline`;
  await move(c, l, trigger, { pendingNotedAt: at, nextCheckAt }, { why, mdeActionId: action.id });
  c.notes.push({ name: 'lockdown.stuck', detail: `${minutes} min` });
  return l.state;
}

/** Someone else's action is in flight on the machine: never send a second one; look again soon. */
export async function waitForOtherAction(c: StepContext, l: Lockdown): Promise<LockdownState> {
  if (l.state === 'isolating' && now(c).getTime() >= isolationGiveUpAt(l).getTime()) {
    // someone else's action kept the machine busy the whole time (review M1): the lockdown's time
    // is over without hostlock having sent anything
    return fail(
      c,
      l,
      "another Defender action on the machine stayed in progress until the lockdown's time ran out; hostlock did not isolate it",
    );
  }
  await update(c, l, {
    nextCheckAt: later(c, c.deps.timing.trackEveryMs),
    lastError: 'another Defender action is in progress',
  });
  return l.state;
}

/**
 * Sends the isolate or release to Defender and records its action id, to be followed from the
 * next step on; a failure is retried or ends the lockdown (`retryOrFail`).
 */
export async function submit(
  c: StepContext,
  l: Lockdown,
  what: 'isolate' | 'release',
  send: () => Promise<DefenderAction>,
): Promise<LockdownState> {
  const after: Record<typeof what, CrashPoint> = {
    isolate: 'after_isolate_submit',
    release: 'after_release_submit',
  };
  try {
    const action = await send();
    c.deps.faults?.(after[what]);
    await update(c, l, {
      ...(what === 'isolate' ? { mdeActionId: action.id } : { mdeReleaseActionId: action.id }),
      nextCheckAt: nextFollowAt(now(c), null, c.deps.timing),
      lastError: null,
    });
    return what === 'isolate' ? 'isolating' : 'releasing';
  } catch (e) {
    if (isBudgetSpent(e)) {
      throw e; // not an attempt: nothing reached Defender; the whole step is tried again shortly
    }
    return retryOrFail(c, l, e, what);
  }
}

import type { Defender, DefenderAction } from '../defender.js';
import type { EventName, ThreadNote } from '../events.js';
import type { Isolation } from '../hosts/derive-isolation.js';
import type { DefenderUnavailable } from '../hosts/ports.js';
import { OPEN_LOCKDOWN_STATES } from '../lockdown-states.js';
import type { Settings } from '../settings.js';
import type { LockdownDeps } from './ports.js';
import type { Lockdown, LockdownPatch, LockdownStore } from './types.js';

/** What Defender's comment carries so hostlock recognises its own actions, even after a crash. */
export const actionTag = (lockdownId: string) => `[hostlock:${lockdownId}]`;
const isOurs = (a: DefenderAction, l: Lockdown) => (a.comment ?? '').includes(actionTag(l.id));
const ACTIVE = new Set(['Pending', 'InProgress']);
const FINAL_BAD = new Set(['Failed', 'TimeOut', 'Cancelled']);
const SYSTEM = 'system:hostlock';
const BUSY_RETRY_MS = 1_000;
/** Agenda may start a job a little early; timestamps written by SQL carry microseconds. */
export const EARLY_TOLERANCE_MS = 2_000;
const OPEN: ReadonlySet<string> = new Set(OPEN_LOCKDOWN_STATES);

type Note = { name: EventName | ThreadNote; detail?: string };

/**
 * Does whatever is due for one lockdown now, holding its row lock (so duplicate jobs, several
 * processes and the sweeper never act twice): expire an undecided request, isolate, follow the
 * isolation, remind, release, follow the release. Every Defender call is preceded by a look at
 * the machine's actions, because Defender has no idempotency key. Announcements go out after the
 * transaction commits. Returns the state reached, or 'busy' when another worker holds the row.
 */
export async function advanceLockdown(deps: LockdownDeps, lockdownId: string): Promise<string> {
  const notes: Note[] = [];
  const hostUpdates: Array<{ machineId: string } & Isolation> = [];
  const before = (await deps.lockdowns.get(lockdownId))?.nextCheckAt;
  // Read settings and the Defender client before taking the row lock: inside the transaction only
  // the transaction's own connection is used, so concurrent steps cannot starve the pool.
  // A pause stops new isolations, not releases: hostlock never leaves a host isolated past its time.
  const [settings, defender] = await Promise.all([deps.settings(), deps.defender({ evenIfPaused: true })]);
  const outcome = await deps.lockdowns.withLock(lockdownId, async (row, store) => {
    // An early or duplicate trigger finds nothing due: the row's next_check_at is the schedule.
    // Agenda may start a job a little before its time (it locks what falls due within its poll
    // period), so "due" has a small tolerance.
    if (!row.nextCheckAt || row.nextCheckAt.getTime() > deps.clock.now().getTime() + EARLY_TOLERANCE_MS) {
      return row.state;
    }
    const step = new Step(deps, store, notes, hostUpdates, settings, defender);
    return step.run(row);
  });
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
      await deps.announce.event(n.name, after, n.detail);
    }
    if (notes.length || outcome !== after.state || after.nextCheckAt?.getTime() !== before?.getTime()) {
      if (after.nextCheckAt && OPEN.has(after.state)) {
        await deps.wake(after.id, after.nextCheckAt);
      }
    }
  }
  return after?.state ?? 'missing';
}

class Step {
  constructor(
    private readonly deps: LockdownDeps,
    private readonly store: LockdownStore,
    private readonly notes: Note[],
    private readonly hostUpdates: Array<{ machineId: string } & Isolation>,
    private readonly settings: Settings,
    private readonly defenderOrWhy: Defender | DefenderUnavailable,
  ) {}

  private now(): Date {
    return this.deps.clock.now();
  }

  private later(ms: number): Date {
    return new Date(this.now().getTime() + ms);
  }

  private async set(
    l: Lockdown,
    patch: LockdownPatch,
    audit?: { action: string; details?: Record<string, unknown> },
  ) {
    const next = await this.store.transition(
      l.id,
      [l.state],
      patch,
      audit
        ? {
            actor: SYSTEM,
            action: audit.action,
            outcome: 'ok',
            ...(audit.details ? { details: audit.details } : {}),
          }
        : undefined,
    );
    if (!next) {
      throw new Error(`lockdown ${l.id} changed under its own lock`);
    }
    return next;
  }

  async run(l: Lockdown): Promise<string> {
    switch (l.state) {
      case 'pending_approval':
        return this.pending(l);
      case 'approved':
        return this.isolate(l);
      case 'isolating':
        return l.mdeActionId ? this.followIsolation(l) : this.isolate(l);
      case 'active':
        return this.active(l);
      case 'releasing':
        return l.mdeReleaseActionId ? this.followRelease(l) : this.release(l);
      default:
        return l.state;
    }
  }

  private async pending(l: Lockdown): Promise<string> {
    const settings = this.settings;
    const deadline = l.createdAt.getTime() + settings.approvalTimeoutMinutes * 60_000;
    if (this.now().getTime() < deadline) {
      await this.set(l, { nextCheckAt: new Date(deadline) });
      return l.state;
    }
    await this.set(
      l,
      { state: 'approval_expired', decidedAt: this.now(), nextCheckAt: null },
      { action: 'lockdown.approval_expired' },
    );
    this.notes.push({ name: 'lockdown.approval_expired' });
    return 'approval_expired';
  }

  private async defender(l: Lockdown, purpose: 'isolate' | 'release'): Promise<Defender | null> {
    const d = this.defenderOrWhy;
    const why =
      typeof d === 'string'
        ? d
        : purpose === 'isolate' && this.settings.mdeState === 'paused'
          ? 'paused'
          : null;
    if (why || typeof d === 'string') {
      // paused or unconfigured: look again later, nothing is lost
      await this.set(l, {
        nextCheckAt: this.later(60_000),
        lastError: `Defender ${(why ?? 'unavailable').replace('_', ' ')}`,
      });
      return null;
    }
    return d;
  }

  private async actions(d: Defender, l: Lockdown): Promise<DefenderAction[]> {
    const list = await d.listActions({ machineId: l.machineId, top: 50 });
    return list.filter((a) => a.type === 'Isolate' || a.type === 'Unisolate');
  }

  /** approved, or isolating with no action recorded (a crash between submit and save) */
  private async isolate(l: Lockdown): Promise<string> {
    const d = await this.defender(l, 'isolate');
    if (!d) {
      return l.state;
    }
    const row =
      l.state === 'approved' ? await this.set(l, { state: 'isolating', attempts: l.attempts + 1 }) : l;
    const actions = await this.actions(d, row);
    const ours = actions.find((a) => a.type === 'Isolate' && isOurs(a, row) && !FINAL_BAD.has(a.status));
    if (ours) {
      await this.set(row, { mdeActionId: ours.id, nextCheckAt: this.now() });
      return this.followIsolation({ ...row, mdeActionId: ours.id });
    }
    const newest = actions[0];
    if (newest && ACTIVE.has(newest.status)) {
      // someone else's action is in flight: never send a second one
      await this.set(row, {
        nextCheckAt: this.later(this.deps.timing.trackEveryMs),
        lastError: 'another Defender action is in progress',
      });
      return row.state;
    }
    if (newest?.type === 'Isolate' && newest.status === 'Succeeded') {
      return this.fail(
        row,
        'the host was isolated outside hostlock meanwhile; hostlock will not take it over',
      );
    }
    try {
      const action = await d.isolate(row.machineId, isolationComment(row), this.settings.isolationType);
      await this.set(row, {
        mdeActionId: action.id,
        nextCheckAt: this.later(this.deps.timing.trackEveryMs),
        lastError: null,
      });
      return 'isolating';
    } catch (e) {
      return this.retryOrFail(row, e, 'isolate');
    }
  }

  private async followIsolation(l: Lockdown): Promise<string> {
    const d = await this.defender(l, 'release');
    if (!d || !l.mdeActionId) {
      return l.state;
    }
    const action = await d.getAction(l.mdeActionId);
    const now = this.now();
    if (action?.status === 'Succeeded') {
      const expiresAt = new Date(now.getTime() + l.durationMinutes * 60_000);
      await this.set(
        l,
        {
          state: 'active',
          lockedAt: now,
          expiresAt,
          lastError: null,
          nextCheckAt: this.reminderOrEnd(expiresAt),
        },
        {
          action: 'lockdown.locked',
          details: { mdeActionId: l.mdeActionId, expiresAt: expiresAt.toISOString() },
        },
      );
      this.hostUpdates.push({
        machineId: l.machineId,
        state: 'isolated_by_hostlock',
        source: 'hostlock',
        actionId: l.mdeActionId,
      });
      this.notes.push({ name: 'lockdown.locked' });
      return 'active';
    }
    if (!action || FINAL_BAD.has(action.status)) {
      return this.retryOrFail(
        { ...l },
        new Error(`Defender isolation ${action?.status ?? 'vanished'}`),
        'isolate',
        { clearAction: true },
      );
    }
    // Pending / InProgress. MDE keeps retrying an offline device for days (mde-api.md §6.1).
    const since = (l.decidedAt ?? l.createdAt).getTime();
    if (now.getTime() - since >= l.durationMinutes * 60_000) {
      await d.cancelAction(action.id, `${actionTag(l.id)} lockdown time ran out before isolation`);
      return this.fail(
        l,
        'the lockdown time ran out while Defender was still trying to isolate the (offline?) device; the isolation was cancelled',
      );
    }
    const patch: LockdownPatch = { nextCheckAt: this.later(this.deps.timing.trackEveryMs) };
    if (
      !l.pendingNotedAt &&
      now.getTime() - action.createdAt.getTime() >= this.deps.timing.pendingNoteAfterMs
    ) {
      patch.pendingNotedAt = now;
      this.notes.push({ name: 'isolation_pending' });
    }
    await this.set(l, patch);
    return l.state;
  }

  private reminderOrEnd(expiresAt: Date): Date {
    const remindAt = expiresAt.getTime() - this.deps.timing.reminderBeforeMs;
    return remindAt > this.now().getTime() ? new Date(remindAt) : expiresAt;
  }

  private async active(l: Lockdown): Promise<string> {
    const now = this.now();
    if (l.expiresAt && now >= l.expiresAt) {
      const row = await this.set(
        l,
        { state: 'releasing', releaseReason: 'expired', releasedBy: SYSTEM, attempts: 0 },
        { action: 'lockdown.release_started', details: { reason: 'expired' } },
      );
      return this.release(row);
    }
    if (
      l.expiresAt &&
      !l.remindedAt &&
      now.getTime() >= l.expiresAt.getTime() - this.deps.timing.reminderBeforeMs
    ) {
      await this.set(l, { remindedAt: now, nextCheckAt: l.expiresAt });
      this.notes.push({ name: 'ending_soon' });
      return l.state;
    }
    // Woken early (the inventory sync saw the host change): was it released outside hostlock?
    const d = this.defenderOrWhy;
    if (typeof d !== 'string') {
      const actions = await this.actions(d, l);
      const newest = actions[0];
      if (newest?.type === 'Unisolate' && newest.status === 'Succeeded' && !isOurs(newest, l)) {
        return this.endExternally(l, 'released outside hostlock');
      }
    }
    await this.set(l, { nextCheckAt: l.expiresAt ? this.reminderOrEndFor(l) : this.later(60_000) });
    return l.state;
  }

  private reminderOrEndFor(l: Lockdown): Date {
    if (!l.expiresAt) {
      return this.later(60_000);
    }
    return l.remindedAt ? l.expiresAt : this.reminderOrEnd(l.expiresAt);
  }

  private async release(l: Lockdown): Promise<string> {
    const d = await this.defender(l, 'release');
    if (!d) {
      return l.state;
    }
    const actions = await this.actions(d, l);
    const ours = actions.find((a) => a.type === 'Unisolate' && isOurs(a, l) && !FINAL_BAD.has(a.status));
    if (ours) {
      await this.set(l, { mdeReleaseActionId: ours.id });
      return this.followRelease({ ...l, mdeReleaseActionId: ours.id });
    }
    const newest = actions[0];
    if (newest && ACTIVE.has(newest.status)) {
      await this.set(l, {
        nextCheckAt: this.later(this.deps.timing.trackEveryMs),
        lastError: 'another Defender action is in progress',
      });
      return l.state;
    }
    const decided = actions.find((a) => a.status === 'Succeeded');
    if (decided && decided.id !== l.mdeActionId) {
      // Released by someone else, or isolated again by someone else: either way not ours to release.
      return this.endExternally(
        l,
        decided.type === 'Unisolate' ? 'released outside hostlock' : 'isolated again outside hostlock',
      );
    }
    try {
      const action = await d.release(l.machineId, releaseComment(l));
      await this.set(l, {
        mdeReleaseActionId: action.id,
        nextCheckAt: this.later(this.deps.timing.trackEveryMs),
        lastError: null,
      });
      return 'releasing';
    } catch (e) {
      return this.retryOrFail(l, e, 'release');
    }
  }

  private async followRelease(l: Lockdown): Promise<string> {
    const d = await this.defender(l, 'release');
    if (!d || !l.mdeReleaseActionId) {
      return l.state;
    }
    const action = await d.getAction(l.mdeReleaseActionId);
    if (action?.status === 'Succeeded') {
      await this.set(
        l,
        { state: 'released', releasedAt: this.now(), nextCheckAt: null, lastError: null },
        {
          action: 'lockdown.released',
          details: { reason: l.releaseReason, mdeActionId: l.mdeReleaseActionId },
        },
      );
      this.hostUpdates.push({
        machineId: l.machineId,
        state: 'not_isolated',
        source: null,
        actionId: l.mdeReleaseActionId,
      });
      this.notes.push({ name: 'lockdown.released' });
      return 'released';
    }
    if (!action || FINAL_BAD.has(action.status)) {
      return this.retryOrFail(l, new Error(`Defender release ${action?.status ?? 'vanished'}`), 'release', {
        clearAction: true,
      });
    }
    await this.set(l, { nextCheckAt: this.later(this.deps.timing.trackEveryMs) });
    return l.state;
  }

  private async endExternally(l: Lockdown, why: string): Promise<string> {
    await this.set(
      l,
      {
        state: 'released_externally',
        releaseReason: 'external',
        releasedAt: this.now(),
        nextCheckAt: null,
        lastError: why,
      },
      { action: 'host.released_externally', details: { why } },
    );
    this.notes.push({ name: 'host.released_externally', detail: why });
    return 'released_externally';
  }

  private async retryOrFail(
    l: Lockdown,
    e: unknown,
    what: 'isolate' | 'release',
    o: { clearAction?: boolean } = {},
  ): Promise<string> {
    const message = e instanceof Error ? e.message : String(e);
    const alreadyInFlight =
      (e as { isActiveRequestAlreadyExists?: boolean }).isActiveRequestAlreadyExists === true;
    const retryable = alreadyInFlight || (e as { retryable?: boolean }).retryable !== false || o.clearAction;
    const attempts = l.attempts + (alreadyInFlight ? 0 : 1);
    const clear: LockdownPatch = o.clearAction
      ? what === 'isolate'
        ? { mdeActionId: null }
        : { mdeReleaseActionId: null }
      : {};
    if (retryable && attempts < this.deps.timing.maxAttempts) {
      const backoff = this.deps.timing.retryBackoffMs;
      const wait = alreadyInFlight
        ? this.deps.timing.trackEveryMs
        : (backoff[Math.min(attempts - 1, backoff.length - 1)] ?? 60_000);
      await this.set(l, { ...clear, attempts, lastError: message, nextCheckAt: this.later(wait) });
      return l.state;
    }
    return this.fail({ ...l, ...clear } as Lockdown, `${what} failed: ${message}`, clear);
  }

  private async fail(l: Lockdown, why: string, extra: LockdownPatch = {}): Promise<string> {
    await this.set(
      l,
      { ...extra, state: 'failed', lastError: why, nextCheckAt: null },
      { action: 'lockdown.failed', details: { why } },
    );
    this.notes.push({ name: 'lockdown.failed', detail: why });
    return 'failed';
  }
}

function isolationComment(l: Lockdown): string {
  const by = l.approvedBy ? `, approved by ${l.approvedBy}` : '';
  return `${actionTag(l.id)} hostlock lockdown for ${l.durationMinutes / 60} h requested by ${l.requestedBy}${by}: ${l.reason || 'no reason given'}`;
}

function releaseComment(l: Lockdown): string {
  return `${actionTag(l.id)} hostlock release (${l.releaseReason ?? 'manual'}) by ${l.releasedBy ?? SYSTEM}`;
}

import { ACTIVE, actionTag, EARLY_TOLERANCE_MS, FINAL_BAD, isOurs, SYSTEM } from './step-base.js';
import { IsolationStep } from './step-isolate.js';
import type { Lockdown } from './types.js';

// The release half of one lockdown step: remind, release at expiry, follow the release, and notice
// a host released (or isolated again) outside hostlock.

/** active and releasing lockdowns, on top of the isolation half. */
export abstract class ReleaseStep extends IsolationStep {
  protected async active(l: Lockdown): Promise<string> {
    const now = this.now();
    // A trigger may come up to EARLY_TOLERANCE_MS early: that is the planned moment, not an early
    // wake-up, so it reminds (or waits for the end) rather than spending Defender calls on a check.
    // The release itself never comes before expires_at: the lockdown lasts at least its time.
    const soon = now.getTime() + EARLY_TOLERANCE_MS;
    if (l.expiresAt && now.getTime() < l.expiresAt.getTime() && soon >= l.expiresAt.getTime()) {
      if (l.nextCheckAt?.getTime() !== l.expiresAt.getTime()) {
        await this.set(l, { nextCheckAt: l.expiresAt });
      }
      return l.state; // each process's 1 s tick takes it up once expires_at has passed
    }
    if (l.expiresAt && now.getTime() >= l.expiresAt.getTime()) {
      const row = await this.set(
        l,
        { state: 'releasing', releaseReason: 'expired', releasedBy: SYSTEM, attempts: 0 },
        { action: 'lockdown.release_started', details: { reason: 'expired' } },
      );
      return this.release(row);
    }
    if (l.expiresAt && !l.remindedAt && soon >= l.expiresAt.getTime() - this.deps.timing.reminderBeforeMs) {
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

  protected async release(l: Lockdown): Promise<string> {
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
      this.deps.faults?.('after_release_submit');
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

  protected async followRelease(l: Lockdown): Promise<string> {
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
}

function releaseComment(l: Lockdown): string {
  return `${actionTag(l.id)} hostlock release (${l.releaseReason ?? 'manual'}) by ${l.releasedBy ?? SYSTEM}`;
}

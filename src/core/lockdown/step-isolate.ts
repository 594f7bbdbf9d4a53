import { ACTIVE, actionTag, FINAL_BAD, isOurs, StepBase } from './step-base.js';
import type { Lockdown, LockdownPatch } from './types.js';

// The isolation half of one lockdown step: expire an undecided request, isolate, follow the
// isolation until Defender confirms it. `step-release.ts` builds the release half on top.

/** pending_approval, approved and isolating lockdowns; the release half extends this. */
export abstract class IsolationStep extends StepBase {
  protected async pending(l: Lockdown): Promise<string> {
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

  /** approved, or isolating with no action recorded (a crash between submit and save) */
  protected async isolate(l: Lockdown): Promise<string> {
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
    // committed so far: `approved` (or `isolating` with no action); this step's writes are not
    this.deps.faults?.('after_approve_commit');
    try {
      const action = await d.isolate(row.machineId, isolationComment(row), this.settings.isolationType);
      this.deps.faults?.('after_isolate_submit');
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

  protected async followIsolation(l: Lockdown): Promise<string> {
    const d = await this.defender(l, 'release');
    if (!d || !l.mdeActionId) {
      return l.state;
    }
    const action = await d.getAction(l.mdeActionId);
    this.deps.faults?.('during_isolation_poll');
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

  protected reminderOrEnd(expiresAt: Date): Date {
    const remindAt = expiresAt.getTime() - this.deps.timing.reminderBeforeMs;
    return remindAt > this.now().getTime() ? new Date(remindAt) : expiresAt;
  }
}

function isolationComment(l: Lockdown): string {
  const by = l.approvedBy ? `, approved by ${l.approvedBy}` : '';
  return `${actionTag(l.id)} hostlock lockdown for ${l.durationMinutes / 60} h requested by ${l.requestedBy}${by}: ${l.reason || 'no reason given'}`;
}

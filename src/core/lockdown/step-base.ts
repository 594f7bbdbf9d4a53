import type { Defender, DefenderAction } from '../defender.js';
import type { EventName, ThreadNote } from '../events.js';
import type { Isolation } from '../hosts/derive-isolation.js';
import type { DefenderUnavailable } from '../hosts/ports.js';
import type { Settings } from '../settings/settings.js';
import type { LockdownDeps } from './ports.js';
import type { Lockdown, LockdownPatch, LockdownStore } from './types.js';

// The shared half of one lockdown step (see `advance-lockdown.ts`): the step's context, guarded
// transitions, the Defender look-ups and the retry / fail paths both the isolation and release
// halves end in. `step-isolate.ts` and `step-release.ts` build on it.

/** What Defender's comment carries so hostlock recognises its own actions, even after a crash. */
export const actionTag = (lockdownId: string) => `[hostlock:${lockdownId}]`;
export const isOurs = (a: DefenderAction, l: Lockdown) => (a.comment ?? '').includes(actionTag(l.id));
export const ACTIVE = new Set(['Pending', 'InProgress']);
export const FINAL_BAD = new Set(['Failed', 'TimeOut', 'Cancelled']);
/** Agenda may start a job a little early; timestamps written by SQL carry microseconds. */
export const EARLY_TOLERANCE_MS = 2_000;
export const SYSTEM = 'system:hostlock';

export type Note = { name: EventName | ThreadNote; detail?: string };

/** One step's context and the helpers both halves use; `Step` in `advance-lockdown.ts` runs it. */
export abstract class StepBase {
  constructor(
    protected readonly deps: LockdownDeps,
    protected readonly store: LockdownStore,
    protected readonly notes: Note[],
    protected readonly hostUpdates: Array<{ machineId: string } & Isolation>,
    protected readonly settings: Settings,
    protected readonly defenderOrWhy: Defender | DefenderUnavailable,
  ) {}

  protected now(): Date {
    return this.deps.clock.now();
  }

  protected later(ms: number): Date {
    return new Date(this.now().getTime() + ms);
  }

  protected async set(
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

  protected async defender(l: Lockdown, purpose: 'isolate' | 'release'): Promise<Defender | null> {
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

  protected async actions(d: Defender, l: Lockdown): Promise<DefenderAction[]> {
    const list = await d.listActions({ machineId: l.machineId, top: 50 });
    return list.filter((a) => a.type === 'Isolate' || a.type === 'Unisolate');
  }

  protected async retryOrFail(
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

  protected async fail(l: Lockdown, why: string, extra: LockdownPatch = {}): Promise<string> {
    await this.set(
      l,
      { ...extra, state: 'failed', lastError: why, nextCheckAt: null },
      { action: 'lockdown.failed', details: { why } },
    );
    this.notes.push({ name: 'lockdown.failed', detail: why });
    return 'failed';
  }
}

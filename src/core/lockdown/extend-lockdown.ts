import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { plannedEnd, reminderAt } from './deadlines.js';
import { LOCKDOWN_DURATIONS_HOURS } from './machine.js';
import type { LockdownDeps } from './ports.js';
import type { Lockdown } from './types.js';

export type ExtendRefusal =
  | 'forbidden'
  | 'containment_disabled'
  | 'not_found'
  | 'not_active'
  | 'bad_duration'
  | 'too_long';

/** Extensions may add at most this much beyond the original end, unless an admin extends. */
export const MAX_EXTENSION_MS = 24 * 60 * 60_000;

/**
 * Moves an active lockdown's end by a preset duration. The new end is written by compare-and-set
 * on the old one, so two simultaneous clicks extend once; the release timer follows the row.
 */
export async function extendLockdown(
  deps: LockdownDeps,
  input: { actor: Actor; lockdownId: string; hours: number },
): Promise<Result<Lockdown, ExtendRefusal> & { current?: Lockdown }> {
  if (!can(input.actor, 'lockdown:edit')) {
    await recordDenial(deps, { actor: input.actor, permission: 'lockdown:edit', what: 'lockdown.extend' });
    return err('forbidden');
  }
  if (!(LOCKDOWN_DURATIONS_HOURS as readonly number[]).includes(input.hours)) {
    return err('bad_duration');
  }
  if (!(await deps.settings()).containmentEnabled) {
    await recordDenial(deps, {
      actor: input.actor,
      rule: 'lookup_only',
      what: 'lockdown.extend',
      target: { type: 'lockdown', id: input.lockdownId },
    });
    return err('containment_disabled');
  }
  const outcome = await deps.lockdowns.withLock(
    input.lockdownId,
    async (row, store) => {
      if (row.state !== 'active' || !row.expiresAt || !row.lockedAt) {
        return { ...err('not_active' as const), current: row };
      }
      const originalEnd = plannedEnd(row.lockedAt, row).getTime();
      const expiresAt = new Date(row.expiresAt.getTime() + input.hours * 3_600_000);
      if (expiresAt.getTime() - originalEnd > MAX_EXTENSION_MS && !can(input.actor, 'settings:edit')) {
        return { ...err('too_long' as const), current: row };
      }
      // a reminder already due is given at once; otherwise at its time
      const remindAt = reminderAt(expiresAt, deps.timing).getTime();
      const next = await store.transition(
        row.id,
        'extend',
        {
          expiresAt,
          remindedAt: null,
          nextCheckAt: new Date(Math.max(remindAt, deps.clock.now().getTime())),
        },
        {
          actor: actorId(input.actor),
          details: { hours: input.hours, from: row.expiresAt.toISOString(), to: expiresAt.toISOString() },
          thread: { name: 'lockdown.extended', detail: `by ${input.hours} h` },
        },
      );
      return next
        ? { ...ok(next), replaces: row.nextCheckAt }
        : { ...err('not_active' as const), current: row };
    },
    { wait: true },
  );
  if (outcome === 'busy') {
    return err('not_found');
  }
  if (outcome.ok) {
    if (outcome.value.nextCheckAt) {
      await deps.wake(outcome.value.id, outcome.value.nextCheckAt, outcome.replaces);
    }
    const { replaces: _, ...result } = outcome;
    return result;
  }
  return outcome;
}

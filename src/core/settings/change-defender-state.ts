import { err, ok, type Result } from '../errors.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { MDE_ENDPOINT_SECRET, MDE_SECRET_NAMES } from './ports.js';
import { recordSettingsChange } from './record-settings-change.js';
import type { SettingsDeps } from './save-settings.js';
import type { Settings } from './settings.js';

export type DefenderChange = 'paused' | 'resumed' | 'deleted';

/**
 * Pause, resume or delete the Defender connection (`settings:edit`). Pausing keeps the
 * credentials and stops polling and new isolations; lockdowns hostlock already made are still
 * released on time. Deleting wipes the credentials, and is refused while a lockdown holds (or is
 * about to hold) a host isolated: it could not be released on time. Each change is audited and announced in the
 * transaction that makes it; `conflict` when the settings changed meanwhile.
 */
export async function changeDefenderState(
  deps: Omit<SettingsDeps, 'verifier'>,
  input: { actor: Actor; change: DefenderChange },
): Promise<Result<Settings, 'forbidden' | 'conflict' | 'lockdowns_open'> & { open?: number }> {
  if (!can(input.actor, 'settings:edit')) {
    await recordDenial(deps.store, {
      actor: input.actor,
      permission: 'settings:edit',
      what: `settings.${input.change === 'paused' ? 'pause' : input.change === 'resumed' ? 'resume' : 'delete'}`,
    });
    return err('forbidden');
  }
  // Deleting the credentials would strand every host hostlock holds isolated: nothing could
  // release them on time (review M3). Pausing keeps releases going; delete waits for them to end.
  const open = input.change === 'deleted' ? await deps.isolatingLockdowns() : 0;
  if (open > 0) {
    return { ...err('lockdowns_open'), open };
  }
  const by = actorId(input.actor);
  const { version } = await deps.store.settings.readVersioned();
  const patch = { mde_state: input.change === 'paused' ? 'paused' : 'enabled' };
  const saved = await deps.store.transaction(async (tx) => {
    if (!(await tx.settings.saveIfVersion(patch, by, version))) {
      return false;
    }
    if (input.change === 'deleted') {
      await tx.secrets.remove([...MDE_SECRET_NAMES, MDE_ENDPOINT_SECRET]);
    }
    await recordSettingsChange(tx, {
      actor: by,
      targetId: 'defender',
      summary: `Defender ${input.change}`,
      details: { defender: input.change },
      at: deps.clock.now(),
    });
    return true;
  });
  if (!saved) {
    return err('conflict');
  }
  const after = await deps.store.settings.read();
  await deps.onSaved(after, { syncNow: input.change === 'resumed' });
  return ok(after);
}

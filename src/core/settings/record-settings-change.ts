import { settingsChangedEvent } from '../events.js';
import { newId } from '../ids.js';
import { sinksOf } from '../sinks.js';
import type { Repos } from '../store.js';

/**
 * Records a settings change in the transaction that saved it: the audit row, the
 * `settings.changed` notification for every sink (those just added included), and what was still
 * queued for sinks just removed, given up with its count in the audit row (never silently).
 */
export async function recordSettingsChange(
  tx: Repos,
  c: { actor: string; targetId: string; summary: string; details: Record<string, unknown>; at: Date },
): Promise<void> {
  const abandoned = await tx.outbox.abandonOtherSinks(sinksOf(await tx.settings.read()), c.at);
  await tx.audit.append({
    actor: c.actor,
    action: 'settings.changed',
    targetType: 'settings',
    targetId: c.targetId,
    outcome: 'ok',
    details: { ...c.details, ...(abandoned ? { undeliveredToRemovedSinks: abandoned } : {}) },
  });
  await tx.outbox.enqueue([settingsChangedEvent(newId('evt'), c.actor, c.summary, c.at)]);
}

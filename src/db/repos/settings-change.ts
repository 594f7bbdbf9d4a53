import { settingsChangedEvent } from '../../core/events.js';
import { newId } from '../../core/ids.js';
import { sinksOf } from '../../core/sinks.js';
import type { Database } from '../client.js';
import { appendAudit } from './audit.js';
import { abandonSinks, enqueueEvents } from './outbox.js';
import { readSettings } from './settings.js';

/**
 * Records a settings change in the transaction that saved it: the audit row, the
 * `settings.changed` notification for every sink (those just added included), and what was still
 * queued for sinks just removed, given up with its count in the audit row (never silently).
 */
export async function recordSettingsChange(
  tx: Database,
  c: { actor: string; targetId: string; summary: string; details: Record<string, unknown> },
): Promise<void> {
  const now = new Date();
  const abandoned = await abandonSinks(tx, sinksOf(await readSettings(tx)), now);
  await appendAudit(tx, {
    actor: c.actor,
    action: 'settings.changed',
    targetType: 'settings',
    targetId: c.targetId,
    outcome: 'ok',
    details: { ...c.details, ...(abandoned ? { undeliveredToRemovedSinks: abandoned } : {}) },
  });
  await enqueueEvents(tx, [settingsChangedEvent(newId('evt'), c.actor, c.summary, now)]);
}

import type { Clock } from '../clock.js';
import type { Settings } from '../settings/settings.js';
import type { Store } from '../store.js';

/**
 * Deletes received scores older than the retention setting (30 days by default), audited when any
 * went: a score feed cannot grow the database without bound (issue #14, finding 6). Returns how many.
 */
export async function pruneScores(deps: {
  store: Store;
  clock: Clock;
  settings: () => Promise<Settings>;
}): Promise<number> {
  const { scoreRetentionDays } = await deps.settings();
  const cutoff = new Date(deps.clock.now().getTime() - scoreRetentionDays * 86_400_000);
  return deps.store.transaction(async (tx) => {
    const n = await tx.scores.deleteReceivedBefore(cutoff);
    if (n > 0) {
      await tx.audit.append({
        actor: 'system:hostlock',
        action: 'scores.pruned',
        targetType: 'host_scores',
        targetId: 'retention',
        outcome: 'ok',
        details: { deleted: n, receivedBefore: cutoff.toISOString(), retentionDays: scoreRetentionDays },
      });
    }
    return n;
  });
}

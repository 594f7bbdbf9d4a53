import type { Agenda } from 'agenda';
import type { Clock } from '../core/clock.js';
import { pruneScores } from '../core/scores/prune-scores.js';
import type { Settings } from '../core/settings/settings.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../log.js';
import { JobName } from './names.js';

/** `scores.prune`, hourly: received scores past the retention setting are deleted (core decides). */
export async function scheduleScoresPrune(
  agenda: Agenda,
  deps: { store: Store; clock: Clock; settings: () => Promise<Settings>; log: Logger },
): Promise<void> {
  agenda.define(
    JobName.scoresPrune,
    async () => {
      const deleted = await pruneScores(deps);
      if (deleted > 0) {
        deps.log.info({ deleted }, 'scores.pruned');
      }
    },
    { concurrency: 1 },
  );
  await agenda.every('1 hour', JobName.scoresPrune);
}

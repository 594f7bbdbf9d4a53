import { lt } from 'drizzle-orm';
import type { ScoreRepo } from '../../core/scores/ports.js';
import type { Database } from '../client.js';
import { hostScores } from '../schema.js';

/** Received scores (every one, whatever automation makes of it). */
export function scoreRepo(db: Database): ScoreRepo {
  return {
    async insert(rows) {
      if (rows.length === 0) {
        return [];
      }
      const out = await db
        .insert(hostScores)
        .values([...rows])
        .returning({ id: hostScores.id });
      return out.map((r) => r.id);
    },
    async deleteReceivedBefore(cutoff) {
      const gone = await db
        .delete(hostScores)
        .where(lt(hostScores.receivedAt, cutoff))
        .returning({ id: hostScores.id });
      return gone.length;
    },
  };
}

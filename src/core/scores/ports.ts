/** A received score as stored (DESIGN §4 `host_scores`). */
export interface NewScore {
  machineId: string;
  threat: number;
  certainty: number;
  privilege: number;
  computedAt: Date;
  /** who sent it: `api:tok_…` */
  submittedBy: string;
}

/** Persistence of received scores (src/db/repos/scores.ts). */
export interface ScoreRepo {
  /** Stores every row; returns their ids in order. */
  insert(rows: readonly NewScore[]): Promise<number[]>;
  /** Deletes scores received before `cutoff`; returns how many. */
  deleteReceivedBefore(cutoff: Date): Promise<number>;
}

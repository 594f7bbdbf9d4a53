import type { DefenderAction } from '../defender.js';
import type { IsolationSource, IsolationState } from './types.js';

export interface Isolation {
  state: IsolationState;
  source: IsolationSource;
  /** the action that decided it, if any */
  actionId: string | null;
}

const ACTIVE = new Set(['Pending', 'InProgress']);

/**
 * Isolation from one machine's Isolate/Unisolate actions (mde-api.md §6.5): Defender has no field.
 * The newest action still Pending/InProgress means isolating/releasing; otherwise the newest
 * Succeeded one decides; Failed, TimeOut and Cancelled change nothing. Returns null when the
 * actions decide nothing (the caller keeps what it knew). An isolation is hostlock's only when
 * its action id is one hostlock submitted (`ownActionIds`); anything else is "outside".
 */
export function deriveIsolation(
  actions: readonly DefenderAction[],
  ownActionIds: ReadonlySet<string>,
): Isolation | null {
  const relevant = actions
    .filter((a) => a.type === 'Isolate' || a.type === 'Unisolate')
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const source = (a: DefenderAction): IsolationSource => (ownActionIds.has(a.id) ? 'hostlock' : 'outside');
  const newest = relevant[0];
  if (newest && ACTIVE.has(newest.status)) {
    return newest.type === 'Isolate'
      ? { state: 'isolating', source: source(newest), actionId: newest.id }
      : { state: 'releasing', source: source(newest), actionId: newest.id };
  }
  const decided = relevant.find((a) => a.status === 'Succeeded');
  if (!decided) {
    return null;
  }
  if (decided.type === 'Unisolate') {
    return { state: 'not_isolated', source: null, actionId: decided.id };
  }
  return ownActionIds.has(decided.id)
    ? { state: 'isolated_by_hostlock', source: 'hostlock', actionId: decided.id }
    : { state: 'isolated_outside', source: 'outside', actionId: decided.id };
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Defender, DefenderPurpose } from '../core/defender.js';
import type { CallPriority } from './budget.js';

// Which budget priority a Defender call spends (mde/budget.ts), carried through the async calls
// of one Defender method without threading it through every function of the client.
const current = new AsyncLocalStorage<CallPriority>();

/** The priority of the call being made; urgent unless a caller said otherwise. */
export const currentPriority = (): CallPriority => current.getStore() ?? 'urgent';

const PRIORITY: Record<DefenderPurpose, CallPriority> = {
  lockdown: 'urgent',
  lookup: 'interactive',
  sync: 'background',
};

/** `defender` whose every call spends the budget at the priority of `purpose`. */
export function forPurpose(defender: Defender, purpose: DefenderPurpose): Defender {
  const priority = PRIORITY[purpose];
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A) =>
      current.run(priority, () => fn(...args));
  return {
    listMachines: wrap(defender.listMachines.bind(defender)),
    getMachine: wrap(defender.getMachine.bind(defender)),
    findMachinesByIp: wrap(defender.findMachinesByIp.bind(defender)),
    findMachinesByName: wrap(defender.findMachinesByName.bind(defender)),
    isolate: wrap(defender.isolate.bind(defender)),
    release: wrap(defender.release.bind(defender)),
    listActions: wrap(defender.listActions.bind(defender)),
    getAction: wrap(defender.getAction.bind(defender)),
    cancelAction: wrap(defender.cancelAction.bind(defender)),
    withCalls: (calls, fn) => current.run(priority, () => defender.withCalls(calls, fn)),
  };
}

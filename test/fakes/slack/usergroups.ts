// usergroups.users.list (usergroups need a paid plan: see `setPlanUpgradeRequired`).
import { type MethodTable, refuse, reqStr } from './protocol.js';
import type { PeerState } from './state.js';

/** usergroups.users.list. */
export function usergroupsMethods(s: PeerState): MethodTable {
  return {
    'usergroups.users.list': (args) => {
      const id = reqStr(args, 'usergroup');
      if (s.planUpgradeRequired) {
        refuse('plan_upgrade_required');
      }
      return { users: [...(s.usergroups.get(id) ?? refuse('no_such_subteam'))] };
    },
  };
}

// users.info.
import { type MethodTable, refuse, reqStr } from './protocol.js';
import type { PeerState } from './state.js';

/** users.info. */
export function usersMethods(s: PeerState): MethodTable {
  return {
    'users.info': (args) => {
      const u = s.users.get(reqStr(args, 'user')) ?? refuse('user_not_found');
      return {
        user: {
          id: u.id,
          team_id: s.teamId,
          name: u.name,
          real_name: u.realName,
          deleted: u.deleted,
          is_bot: u.isBot,
          is_admin: false,
          is_owner: false,
          tz: 'UTC',
          profile: {
            display_name: u.name,
            real_name: u.realName,
            ...(u.email === undefined ? {} : { email: u.email }),
          },
        },
      };
    },
  };
}

// auth.test.
import type { MethodTable } from './protocol.js';
import type { PeerState } from './state.js';

/** The workspace's address, as auth.test gives it (and permalinks start with it). */
export const WORKSPACE_URL = 'https://hostlock-test.slack.com/';

/** auth.test: who the bot token belongs to. */
export function authMethods(s: PeerState): MethodTable {
  return {
    'auth.test': () => ({
      url: WORKSPACE_URL,
      team: 'hostlock-test',
      user: s.users.get(s.botUserId)?.name,
      team_id: s.teamId,
      user_id: s.botUserId,
      bot_id: s.botId,
      is_enterprise_install: false,
    }),
  };
}

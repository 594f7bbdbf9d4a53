// auth.test.
import type { MethodTable } from './protocol.js';
import type { PeerState } from './state.js';

/** auth.test: who the bot token belongs to. */
export function authMethods(s: PeerState): MethodTable {
  return {
    'auth.test': () => ({
      url: 'https://hostlock-test.slack.com/',
      team: 'hostlock-test',
      user: s.users.get(s.botUserId)?.name,
      team_id: s.teamId,
      user_id: s.botUserId,
      bot_id: s.botId,
      is_enterprise_install: false,
    }),
  };
}

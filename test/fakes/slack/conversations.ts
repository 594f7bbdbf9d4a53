// conversations.info and conversations.open (IMs and MPIMs).
import { type Args, type MethodTable, optStr, refuse, reqStr } from './protocol.js';
import { type Channel, channelFor, dmChannelId, nextSeq, openIm, type PeerState, pad } from './state.js';

function channelJson(c: Channel): Args {
  return {
    id: c.id,
    ...(c.name === undefined ? {} : { name: c.name }),
    is_channel: !c.isPrivate && !c.isIm && !c.isMpim,
    is_group: c.isPrivate && !c.isIm && !c.isMpim,
    is_im: c.isIm,
    is_mpim: c.isMpim,
    is_private: c.isPrivate,
    is_archived: c.isArchived,
    is_member: c.isMember,
    ...(c.isIm ? { user: c.users?.[0] } : {}),
  };
}

/** Finds or opens the IM (one user) or MPIM (several) with `ids`. */
function openWithUsers(s: PeerState, ids: string[]): { channel: Channel; alreadyOpen: boolean } {
  if (ids.length === 0) {
    refuse('invalid_arguments');
  }
  if (ids.length > 8) {
    refuse('too_many_users');
  }
  for (const id of ids) {
    const u = s.users.get(id) ?? refuse('user_not_found');
    if (u.deleted) {
      refuse('user_disabled');
    }
  }
  const key = [...ids].sort().join(',');
  const existing =
    ids.length === 1
      ? s.channels.get(dmChannelId(key))
      : [...s.channels.values()].find((x) => x.isMpim && x.users?.join(',') === key);
  const c: Channel =
    existing ??
    (ids.length === 1
      ? openIm(s, key)
      : {
          id: `G${pad(nextSeq(s), 10)}`,
          isPrivate: true,
          isMember: true,
          isArchived: false,
          isIm: false,
          isMpim: true,
          users: key.split(','),
        });
  s.channels.set(c.id, c);
  return { channel: c, alreadyOpen: existing !== undefined };
}

function open(s: PeerState, args: Args): Args {
  const channelId = optStr(args, 'channel');
  const rawUsers = args.users;
  const ids = (Array.isArray(rawUsers) ? rawUsers.map(String) : (optStr(args, 'users') ?? '').split(','))
    .map((id) => id.trim())
    .filter((id) => id !== '');
  let c: Channel;
  let alreadyOpen = true;
  if (channelId !== undefined) {
    c = s.channels.get(channelId) ?? refuse('channel_not_found');
  } else {
    ({ channel: c, alreadyOpen } = openWithUsers(s, ids));
  }
  const full = args.return_im === true || args.return_im === 'true';
  return {
    ...(alreadyOpen ? { no_op: true, already_open: true } : {}),
    channel: full ? channelJson(c) : { id: c.id },
  };
}

/** conversations.info and conversations.open. */
export function conversationsMethods(s: PeerState): MethodTable {
  return {
    'conversations.info': (args) => ({ channel: channelJson(channelFor(s, reqStr(args, 'channel'), false)) }),
    'conversations.open': (args) => open(s, args),
  };
}

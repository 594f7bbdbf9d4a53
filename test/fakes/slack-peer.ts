// A faithful stand-in for Slack's Web API (`/api/<method>`) and response_url sinks (`/respond/<id>`),
// written from shared/reference/slack.md §3.4, §4, §5 and §9.4, never from our client code. The app under
// test reaches it only over HTTP (`SLACK_API_URL = peer.apiUrl`).
//
// This file is the entry point; the peer lives in ./slack/: types.ts (public shapes), state.ts (the shared
// store), protocol.ts (decoding, refusals, replies), one module per method family (auth, chat + response_url,
// views, usergroups, users, conversations), server.ts (HTTP routing, auth, faults, recording), waiters.ts and
// handle.ts (the test-facing handle).

import { authMethods } from './slack/auth.js';
import { chatMethods, handleRespond } from './slack/chat.js';
import { conversationsMethods } from './slack/conversations.js';
import { functionsMethods } from './slack/functions.js';
import { peerHandle } from './slack/handle.js';
import { startServer } from './slack/server.js';
import { createState } from './slack/state.js';
import type { SlackPeer, SlackPeerOptions } from './slack/types.js';
import { usergroupsMethods } from './slack/usergroups.js';
import { usersMethods } from './slack/users.js';
import { viewsMethods } from './slack/views.js';
import { createWaiters } from './slack/waiters.js';

export { messagePayload } from './slack/chat.js';
export type {
  ResponseUrlPost,
  SlackCall,
  SlackFault,
  SlackPeer,
  SlackPeerOptions,
  StoredMessage,
  StoredView,
} from './slack/types.js';

/** Starts a peer on `127.0.0.1:0`. */
export async function startSlackPeer(opts: SlackPeerOptions): Promise<SlackPeer> {
  const state = createState(opts);
  const waiters = createWaiters();
  const methods = {
    ...authMethods(state),
    ...chatMethods(state),
    ...viewsMethods(state),
    ...usergroupsMethods(state),
    ...usersMethods(state),
    ...conversationsMethods(state),
    ...functionsMethods(state),
  };
  const { server, base } = await startServer(state, {
    methods,
    respond: (id, raw) => handleRespond(state, id, raw),
    notify: waiters.notify,
  });
  return peerHandle(state, server, base, waiters);
}

// The test-facing handle on a running peer: recorded traffic and waits, id issuers, seeding, fault
// scripting, look-ups and lifecycle, all over the shared state.

import type { Server } from 'node:http';
import { startExecution } from './functions.js';
import { dmChannelId, findMessage, hex, nextSeq, nextTs, type PeerState, pad, store } from './state.js';
import type { SlackPeer } from './types.js';
import type { Waiters } from './waiters.js';

type Recorded = Pick<SlackPeer, 'callsTo' | 'waitForCall' | 'waitForResponse'>;
type Issuers = Pick<SlackPeer, 'newResponseUrl' | 'issueTriggerId'>;
type Seeders = Pick<
  SlackPeer,
  'addUser' | 'addChannel' | 'addMessage' | 'setUsergroup' | 'setPlanUpgradeRequired' | 'fail'
>;
type Lookups = Pick<
  SlackPeer,
  'findMessage' | 'view' | 'homeView' | 'dmChannelId' | 'channelName' | 'userName'
>;
type Lifecycle = Pick<SlackPeer, 'reset' | 'close'>;

function recorded(s: PeerState, waiters: Waiters): Recorded {
  const { calls, responses } = s;
  return {
    callsTo: (method) => calls.filter((c) => c.method === method),
    waitForCall: (method, predicate = () => true, timeoutMs = 2_000) =>
      waiters.waitFor(
        () => calls.find((c) => c.method === method && predicate(c)),
        timeoutMs,
        () =>
          `slack peer: no matching ${method} call within ${timeoutMs} ms; saw [${calls.map((c) => c.method).join(', ')}]`,
      ),
    waitForResponse: (predicate = () => true, timeoutMs = 2_000) =>
      waiters.waitFor(
        () => responses.find(predicate),
        timeoutMs,
        () =>
          `slack peer: no matching response_url post within ${timeoutMs} ms; saw ${JSON.stringify(responses.map((r) => r.body))}`,
      ),
  };
}

function issuers(s: PeerState, base: string): Issuers {
  return {
    newResponseUrl: (ctx = {}) => {
      const id = `${pad(nextSeq(s), 6)}${hex(6)}`;
      s.sinks.set(id, { issuedAt: s.now(), posts: 0, ...ctx });
      return `${base}/respond/${id}`;
    },
    issueTriggerId: (ctx = {}) => {
      const id = `${100_000 + nextSeq(s)}.${7_890_123}.${hex(16)}`;
      s.triggers.set(id, { issuedAt: s.now(), used: false, ...ctx });
      return id;
    },
  };
}

function seeders(s: PeerState): Seeders {
  return {
    addUser: (u) => {
      s.users.set(u.id, {
        id: u.id,
        name: u.name ?? u.id.toLowerCase(),
        realName: u.realName ?? u.name ?? u.id,
        ...(u.email === undefined ? {} : { email: u.email }),
        isBot: u.isBot ?? false,
        deleted: u.deleted ?? false,
      });
    },
    addChannel: (c) => {
      s.channels.set(c.id, {
        id: c.id,
        name: c.name,
        isPrivate: c.isPrivate ?? false,
        isMember: c.isMember ?? true,
        isArchived: c.isArchived ?? false,
        isIm: false,
        isMpim: false,
      });
    },
    addMessage: (m) =>
      store(s, {
        channel: m.channel,
        ts: m.ts ?? nextTs(s),
        text: m.text,
        ...(m.blocks === undefined ? {} : { blocks: m.blocks }),
        ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
        ...(m.botId === undefined ? {} : { botId: m.botId }),
        user: m.user,
        via: 'seed',
      }),
    setUsergroup: (id, userIds) => {
      s.usergroups.set(id, [...userIds]);
    },
    setPlanUpgradeRequired: (on) => {
      s.planUpgradeRequired = on;
    },
    fail: (method, fault) => {
      const queue = s.faults.get(method) ?? [];
      queue.push({ fault, left: fault.times ?? 1 });
      s.faults.set(method, queue);
    },
  };
}

function lookups(s: PeerState): Lookups {
  return {
    findMessage: (channel, ts) => findMessage(s, channel, ts),
    view: (id) => s.views.find((v) => v.id === id),
    homeView: (userId) => s.views.find((v) => v.type === 'home' && v.userId === userId),
    dmChannelId,
    channelName: (id) => s.channels.get(id)?.name,
    userName: (id) => s.users.get(id)?.name,
  };
}

function lifecycle(s: PeerState, server: Server, waiters: Waiters): Lifecycle {
  return {
    reset: () => {
      s.calls.length = 0;
      s.responses.length = 0;
      s.faults.clear();
    },
    close: async () => {
      waiters.rejectAll('slack peer closed while waiting');
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** The {@link SlackPeer} for a peer listening at `base`. */
export function peerHandle(s: PeerState, server: Server, base: string, waiters: Waiters): SlackPeer {
  return {
    url: base,
    apiUrl: `${base}/api/`,
    teamId: s.teamId,
    botUserId: s.botUserId,
    botId: s.botId,
    calls: s.calls,
    responses: s.responses,
    messages: s.messages,
    views: s.views,
    ...recorded(s, waiters),
    ...issuers(s, base),
    ...seeders(s),
    ...lookups(s),
    ...lifecycle(s, server, waiters),
    startFunction: (o) => startExecution(s, o),
    execution: (id) => s.executions.get(id),
  };
}

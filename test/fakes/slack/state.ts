// The peer's shared store (messages, views, users, channels, usergroups, triggers, response_url sinks,
// recorded calls, pending faults) and the helpers more than one method family uses on it.

import { randomBytes } from 'node:crypto';
import type { FunctionExecution } from './functions.js';
import { refuse } from './protocol.js';
import type {
  ResponseUrlPost,
  SlackCall,
  SlackFault,
  SlackPeerOptions,
  StoredMessage,
  StoredView,
} from './types.js';

export interface Channel {
  id: string;
  name?: string;
  isPrivate: boolean;
  isMember: boolean;
  isArchived: boolean;
  isIm: boolean;
  isMpim: boolean;
  users?: string[];
}

export interface User {
  id: string;
  name: string;
  realName: string;
  email?: string;
  isBot: boolean;
  deleted: boolean;
}

/** An issued trigger_id. */
export interface Trigger {
  issuedAt: number;
  used: boolean;
  userId?: string;
}

/** An issued response_url, with the message it acts on. */
export interface Sink {
  issuedAt: number;
  posts: number;
  channelId?: string;
  userId?: string;
  messageTs?: string;
  lastTs?: string;
}

export interface PeerState {
  /** Read on every call (`botToken`), as given to `startSlackPeer`. */
  readonly opts: SlackPeerOptions;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly now: () => number;
  readonly homeTabEnabled: boolean;
  planUpgradeRequired: boolean;
  readonly calls: SlackCall[];
  readonly responses: ResponseUrlPost[];
  readonly messages: StoredMessage[];
  readonly views: StoredView[];
  readonly users: Map<string, User>;
  readonly channels: Map<string, Channel>;
  readonly usergroups: Map<string, string[]>;
  readonly triggers: Map<string, Trigger>;
  /** Modal stacks (view ids, root first) by the trigger's user id (`''` when none). */
  readonly stacks: Map<string, string[]>;
  readonly sinks: Map<string, Sink>;
  readonly faults: Map<string, { fault: SlackFault; left: number }[]>;
  /** Workflow step executions (functions.ts), by function_execution_id. */
  readonly executions: Map<string, FunctionExecution>;
  /** One counter behind response_url ids, trigger ids, view ids and mpim channel ids. */
  seq: number;
  /** Last message ts handed out, in microseconds. */
  lastMicros: number;
}

export function createState(opts: SlackPeerOptions): PeerState {
  const now = opts.now ?? Date.now;
  const s: PeerState = {
    opts,
    teamId: opts.teamId ?? 'T0000TEAM',
    botUserId: opts.botUserId ?? 'U0000BOT',
    botId: opts.botId ?? 'B0000BOT',
    now: () => now(),
    homeTabEnabled: opts.homeTabEnabled ?? true,
    planUpgradeRequired: false,
    calls: [],
    responses: [],
    messages: [],
    views: [],
    users: new Map(),
    channels: new Map(),
    usergroups: new Map(),
    triggers: new Map(),
    stacks: new Map(),
    sinks: new Map(),
    faults: new Map(),
    executions: new Map(),
    seq: 0,
    lastMicros: 0,
  };
  s.users.set(s.botUserId, {
    id: s.botUserId,
    name: 'hostlock',
    realName: 'hostlock',
    isBot: true,
    deleted: false,
  });
  return s;
}

export const pad = (n: number, w: number): string => String(n).padStart(w, '0');
export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
export const nextSeq = (s: PeerState): number => ++s.seq;
export const dmChannelId = (userId: string): string => `D${userId.slice(1)}`;

/** Strictly increasing `seconds.micros` ts derived from the clock. */
export function nextTs(s: PeerState): string {
  s.lastMicros = Math.max(Math.floor(s.now()) * 1000, s.lastMicros + 100);
  return `${Math.floor(s.lastMicros / 1e6)}.${pad(s.lastMicros % 1e6, 6)}`;
}

export function store(s: PeerState, m: Omit<StoredMessage, 'edits' | 'deleted'>): StoredMessage {
  const full: StoredMessage = { ...m, edits: 0, deleted: false };
  s.messages.push(full);
  return full;
}
export const findMessage = (s: PeerState, channel: string, ts: string): StoredMessage | undefined =>
  s.messages.find((m) => m.channel === channel && m.ts === ts && m.ephemeralUser === undefined && !m.deleted);

export function channelFor(s: PeerState, ref: string, allowNameOrUser: boolean): Channel {
  const direct = s.channels.get(ref);
  if (direct) {
    return direct;
  }
  if (allowNameOrUser) {
    const name = ref.replace(/^#/, '');
    const byName = [...s.channels.values()].find((c) => c.name === name);
    if (byName) {
      return byName;
    }
    if (/^[UW]/.test(ref) && s.users.has(ref)) {
      return openIm(s, ref);
    }
  }
  return refuse('channel_not_found');
}
export function postableChannel(s: PeerState, ref: string): Channel {
  const c = channelFor(s, ref, true);
  if (c.isArchived) {
    refuse('is_archived');
  }
  // Public channels accept posts without joining (chat:write.public); private ones do not.
  if (c.isPrivate && !c.isMember) {
    refuse('not_in_channel');
  }
  return c;
}
export function openIm(s: PeerState, userId: string): Channel {
  const id = dmChannelId(userId);
  const c = s.channels.get(id) ?? {
    id,
    isPrivate: true,
    isMember: true,
    isArchived: false,
    isIm: true,
    isMpim: false,
    users: [userId],
  };
  s.channels.set(id, c);
  return c;
}

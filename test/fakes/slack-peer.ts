// A faithful stand-in for Slack's Web API (`/api/<method>`) and response_url sinks (`/respond/<id>`),
// written from shared/reference/slack.md §3.4, §4, §5 and §9.4, never from our client code. The app under
// test reaches it only over HTTP (`SLACK_API_URL = peer.apiUrl`).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options for {@link startSlackPeer}. */
export interface SlackPeerOptions {
  /** The only bearer accepted (header, or `token` body field); others get `invalid_auth`, none `not_authed`. */
  botToken: string;
  /** Workspace id; default `T0000TEAM`. */
  teamId?: string;
  /** Bot user id returned by auth.test and used as author of bot messages; default `U0000BOT`. */
  botUserId?: string;
  /** Bot id; default `B0000BOT`. */
  botId?: string;
  /** Millisecond clock for trigger_id TTL, response_url limits, `at` stamps and message ts; default `Date.now`. */
  now?: () => number;
  /** `false` → views.publish answers `not_enabled`; default `true`. */
  homeTabEnabled?: boolean;
}

/** One recorded Web API call, including refused ones. */
export interface SlackCall {
  method: string;
  /** Decoded args without `token`; `blocks`/`view`/`metadata`/`attachments` JSON-parsed when sent as strings. */
  args: Record<string, unknown>;
  /** Bearer from `Authorization`, else the `token` body field. */
  token: string | undefined;
  contentType: string;
  rawBody: string;
  /** Peer clock (ms) when the call arrived. */
  at: number;
  /** HTTP status and JSON body the peer answered with. */
  status: number;
  response: Record<string, unknown>;
}

/** One POST received on a response_url sink (accepted or not). */
export interface ResponseUrlPost {
  /** Sink id: the last path segment of the URL from {@link SlackPeer.newResponseUrl}. */
  id: string;
  body: unknown;
  at: number;
  /** 200 when accepted; 404 for unknown, used-up (`used_url`) or expired (`expired_url`) URLs; 400 bad body. */
  status: number;
  error?: string;
  /** What the post did to the conversation when accepted. */
  effect?: 'posted' | 'replaced' | 'deleted';
  /** The message posted, replaced or deleted. */
  message?: StoredMessage;
}

/** A message as the peer holds it (current state; updated in place by chat.update and response_url). */
export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  threadTs?: string;
  /** Set for chat.postEphemeral and ephemeral response_url replies: the only user who sees it. */
  ephemeralUser?: string;
  /** Author user id (the bot user for everything the app posts). */
  user: string;
  botId?: string;
  /** Number of edits (chat.update or replace_original). */
  edits: number;
  /** Set by `delete_original`. */
  deleted: boolean;
  via: 'api' | 'response_url' | 'seed';
}

/** A view opened, pushed or published through the peer. */
export interface StoredView {
  id: string;
  type: 'modal' | 'home';
  /** Owner: the trigger's user for modals, `user_id` for Home views. */
  userId?: string;
  /** The view exactly as views.* returned it (Slack shape: id, hash, callback_id, private_metadata, state…). */
  view: Record<string, unknown>;
}

/** A scripted failure for {@link SlackPeer.fail}. */
export interface SlackFault {
  /** `ok:false` error code; default `ratelimited` for 429, else `internal_error`. */
  error?: string;
  /** HTTP status; default 200, or 429 when `retryAfterSeconds` is set. A 429 without it has no Retry-After. */
  status?: number;
  retryAfterSeconds?: number;
  /** How many calls it applies to; default 1 (`Infinity` for a permanent fault). */
  times?: number;
}

/** Handle on a running peer. */
export interface SlackPeer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `url + '/api/'`: what the app uses as `slackApiUrl`. */
  readonly apiUrl: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  /** Every Web API call, in arrival order. */
  readonly calls: readonly SlackCall[];
  callsTo(method: string): SlackCall[];
  /** Resolves with the first recorded call (past or future) to `method` matching `predicate`; rejects after `timeoutMs` (default 2000). */
  waitForCall(method: string, predicate?: (c: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  /** Every POST received on a response_url sink. */
  readonly responses: readonly ResponseUrlPost[];
  /** Like {@link waitForCall} for response_url posts. */
  waitForResponse(predicate?: (p: ResponseUrlPost) => boolean, timeoutMs?: number): Promise<ResponseUrlPost>;
  /** A fresh response_url (5 posts within 30 min). Bind it to a message so `replace_original`/`delete_original` act on it. */
  newResponseUrl(ctx?: { channelId?: string; userId?: string; messageTs?: string }): string;
  /** A trigger_id valid for 3 s and one views.open/views.push; `userId` owns the opened modal stack. */
  issueTriggerId(ctx?: { userId?: string }): string;
  addUser(u: {
    id: string;
    name?: string;
    realName?: string;
    email?: string;
    isBot?: boolean;
    deleted?: boolean;
  }): void;
  addChannel(c: {
    id: string;
    name: string;
    isPrivate?: boolean;
    isMember?: boolean;
    isArchived?: boolean;
  }): void;
  /** Seeds a message, e.g. one written by a human (chat.update on it → `cant_update_message`). */
  addMessage(m: {
    channel: string;
    text: string;
    user: string;
    ts?: string;
    blocks?: unknown[];
  }): StoredMessage;
  setUsergroup(id: string, userIds: string[]): void;
  /** `true` → every usergroups.* call answers `plan_upgrade_required` (free plan). */
  setPlanUpgradeRequired(on: boolean): void;
  /** Scripts failures for `method` (`'*'` = any), consumed in order before any other check except unknown_method. */
  fail(method: string, fault: SlackFault): void;
  /** Messages posted through chat.* and response_url, plus seeded ones. */
  readonly messages: readonly StoredMessage[];
  findMessage(channel: string, ts: string): StoredMessage | undefined;
  readonly views: readonly StoredView[];
  view(id: string): StoredView | undefined;
  homeView(userId: string): StoredView | undefined;
  /** The IM channel id the peer uses for the bot's DM with `userId` (`U123` → `D123`). */
  dmChannelId(userId: string): string;
  channelName(id: string): string | undefined;
  userName(id: string): string | undefined;
  /** Clears recorded calls, responses and pending faults; keeps users, channels, messages and views. */
  reset(): void;
  close(): Promise<void>;
}

type Args = Record<string, unknown>;

interface Channel {
  id: string;
  name?: string;
  isPrivate: boolean;
  isMember: boolean;
  isArchived: boolean;
  isIm: boolean;
  isMpim: boolean;
  users?: string[];
}

interface User {
  id: string;
  name: string;
  realName: string;
  email?: string;
  isBot: boolean;
  deleted: boolean;
}

/** Slack refusal: becomes `{ ok: false, error }` with HTTP 200. */
class Refusal extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
const refuse = (code: string): never => {
  throw new Refusal(code);
};

const TRIGGER_TTL_MS = 3_000;
const RESPONSE_URL_MAX_POSTS = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const MAX_MESSAGE_BLOCKS = 50;
const MAX_VIEW_BLOCKS = 100;
const MAX_VIEW_BYTES = 250_000;
const MAX_UPDATE_TEXT = 4_000;
const MAX_VIEW_STACK = 3;
const JSON_FIELDS: Record<string, string> = {
  blocks: 'invalid_blocks_format',
  attachments: 'invalid_attachments',
  view: 'invalid_arguments',
  metadata: 'invalid_metadata_format',
};

/** The Slack JSON shape of a stored message (as in `message` of chat.postMessage and block_actions). */
export function messagePayload(m: StoredMessage): Record<string, unknown> {
  return {
    type: 'message',
    ts: m.ts,
    text: m.text,
    user: m.user,
    ...(m.botId === undefined ? {} : { bot_id: m.botId }),
    ...(m.blocks === undefined ? {} : { blocks: m.blocks }),
    ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
    ...(m.threadTs === undefined ? {} : { thread_ts: m.threadTs }),
    ...(m.metadata === undefined ? {} : { metadata: m.metadata }),
  };
}

const isRecord = (v: unknown): v is Args => typeof v === 'object' && v !== null && !Array.isArray(v);

function optStr(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') {
    return undefined;
  }
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : refuse('invalid_arguments');
}
const reqStr = (args: Args, key: string): string => optStr(args, key) ?? refuse('invalid_arguments');

function decodeArgs(contentType: string, raw: string, query: URLSearchParams): Args {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const args: Args = Object.fromEntries(query);
  if (raw.trim() !== '') {
    if (media === 'application/x-www-form-urlencoded') {
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
    } else if (media === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return refuse('invalid_form_data');
      }
      Object.assign(args, isRecord(parsed) ? parsed : refuse('invalid_form_data'));
    } else {
      refuse(media === '' ? 'missing_post_type' : 'invalid_post_type');
    }
  }
  for (const [field, code] of Object.entries(JSON_FIELDS)) {
    const v = args[field];
    if (typeof v === 'string') {
      try {
        args[field] = JSON.parse(v);
      } catch {
        refuse(code);
      }
    }
  }
  return args;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts a peer on `127.0.0.1:0`. */
export async function startSlackPeer(opts: SlackPeerOptions): Promise<SlackPeer> {
  const teamId = opts.teamId ?? 'T0000TEAM';
  const botUserId = opts.botUserId ?? 'U0000BOT';
  const botId = opts.botId ?? 'B0000BOT';
  const now = opts.now ?? Date.now;
  const homeTabEnabled = opts.homeTabEnabled ?? true;
  let planUpgradeRequired = false;

  const calls: SlackCall[] = [];
  const responses: ResponseUrlPost[] = [];
  const messages: StoredMessage[] = [];
  const views: StoredView[] = [];
  const users = new Map<string, User>();
  const channels = new Map<string, Channel>();
  const usergroups = new Map<string, string[]>();
  const triggers = new Map<string, { issuedAt: number; used: boolean; userId?: string }>();
  const stacks = new Map<string, string[]>();
  const sinks = new Map<
    string,
    {
      issuedAt: number;
      posts: number;
      channelId?: string;
      userId?: string;
      messageTs?: string;
      lastTs?: string;
    }
  >();
  const faults = new Map<string, { fault: SlackFault; left: number }[]>();
  const waiters = new Set<{ check: () => boolean; reject: (e: Error) => void }>();
  let seq = 0;
  let lastMicros = 0;

  users.set(botUserId, {
    id: botUserId,
    name: 'hostlock',
    realName: 'hostlock',
    isBot: true,
    deleted: false,
  });

  const notify = (): void => {
    for (const w of [...waiters]) {
      w.check();
    }
  };
  function waitFor<T>(find: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        check: (): boolean => {
          const hit = find();
          if (hit === undefined) {
            return false;
          }
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(hit);
          return true;
        },
        reject: (e: Error): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(e);
        },
      };
      const timer = setTimeout(() => waiter.reject(new Error(describe())), timeoutMs);
      waiters.add(waiter);
      waiter.check();
    });
  }

  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  /** Strictly increasing `seconds.micros` ts derived from the clock. */
  function nextTs(): string {
    lastMicros = Math.max(Math.floor(now()) * 1000, lastMicros + 100);
    return `${Math.floor(lastMicros / 1e6)}.${pad(lastMicros % 1e6, 6)}`;
  }
  const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
  const dmChannelId = (userId: string): string => `D${userId.slice(1)}`;

  function channelFor(ref: string, allowNameOrUser: boolean): Channel {
    const direct = channels.get(ref);
    if (direct) {
      return direct;
    }
    if (allowNameOrUser) {
      const name = ref.replace(/^#/, '');
      const byName = [...channels.values()].find((c) => c.name === name);
      if (byName) {
        return byName;
      }
      if (/^[UW]/.test(ref) && users.has(ref)) {
        return openIm(ref);
      }
    }
    return refuse('channel_not_found');
  }
  function postableChannel(ref: string): Channel {
    const c = channelFor(ref, true);
    if (c.isArchived) {
      refuse('is_archived');
    }
    // Public channels accept posts without joining (chat:write.public); private ones do not.
    if (c.isPrivate && !c.isMember) {
      refuse('not_in_channel');
    }
    return c;
  }
  function openIm(userId: string): Channel {
    const id = dmChannelId(userId);
    const c = channels.get(id) ?? {
      id,
      isPrivate: true,
      isMember: true,
      isArchived: false,
      isIm: true,
      isMpim: false,
      users: [userId],
    };
    channels.set(id, c);
    return c;
  }
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

  /** Validates message content the way chat.* do; only fields present in `args` are returned. */
  function content(args: Args): { text?: string; blocks?: unknown[]; attachments?: unknown[] } {
    const text = optStr(args, 'text');
    const blocks = args.blocks === undefined ? undefined : args.blocks;
    if (blocks !== undefined && !Array.isArray(blocks)) {
      refuse('invalid_blocks_format');
    }
    if (Array.isArray(blocks) && blocks.length > MAX_MESSAGE_BLOCKS) {
      refuse('invalid_blocks');
    }
    const attachments = args.attachments;
    if (attachments !== undefined && !Array.isArray(attachments)) {
      refuse('invalid_attachments');
    }
    if (Array.isArray(attachments) && attachments.length > 100) {
      refuse('too_many_attachments');
    }
    const out: { text?: string; blocks?: unknown[]; attachments?: unknown[] } = {};
    if (text !== undefined) {
      out.text = text;
    }
    if (Array.isArray(blocks)) {
      out.blocks = blocks;
    }
    if (Array.isArray(attachments)) {
      out.attachments = attachments;
    }
    return out;
  }
  const hasContent = (c: { text?: string; blocks?: unknown[]; attachments?: unknown[] }): boolean =>
    c.text !== undefined || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;

  function store(m: Omit<StoredMessage, 'edits' | 'deleted'>): StoredMessage {
    const full: StoredMessage = { ...m, edits: 0, deleted: false };
    messages.push(full);
    return full;
  }
  const findMessage = (channel: string, ts: string): StoredMessage | undefined =>
    messages.find((m) => m.channel === channel && m.ts === ts && m.ephemeralUser === undefined && !m.deleted);

  function validView(args: Args, type: 'modal' | 'home' | undefined): Args {
    const v = args.view;
    if (!isRecord(v) || (type !== undefined && v.type !== type)) {
      return refuse('invalid_arguments');
    }
    if (v.blocks !== undefined && (!Array.isArray(v.blocks) || v.blocks.length > MAX_VIEW_BLOCKS)) {
      refuse('invalid_arguments');
    }
    if (v.type === 'modal' && !isRecord(v.title)) {
      refuse('invalid_arguments');
    }
    if (typeof v.private_metadata === 'string' && v.private_metadata.length > 3000) {
      refuse('invalid_arguments');
    }
    if (Buffer.byteLength(JSON.stringify(v)) > MAX_VIEW_BYTES) {
      refuse('view_too_large');
    }
    return v;
  }
  const newHash = (): string => `${Math.floor(now() / 1000)}.${hex(4)}`;
  function viewJson(def: Args, id: string, rootViewId: string, previousViewId: string | null): Args {
    return {
      id,
      team_id: teamId,
      type: def.type,
      blocks: def.blocks ?? [],
      private_metadata: def.private_metadata ?? '',
      callback_id: def.callback_id ?? '',
      state: { values: {} },
      hash: newHash(),
      title: def.title ?? null,
      close: def.close ?? null,
      submit: def.submit ?? null,
      clear_on_close: def.clear_on_close ?? false,
      notify_on_close: def.notify_on_close ?? false,
      root_view_id: rootViewId,
      previous_view_id: previousViewId,
      app_id: 'A0000APP',
      external_id: def.external_id ?? '',
      app_installed_team_id: teamId,
      bot_id: botId,
    };
  }
  function createView(
    def: Args,
    type: 'modal' | 'home',
    userId: string | undefined,
    root?: string,
    prev?: string,
  ) {
    checkExternalId(def, undefined);
    const id = `V${pad(++seq, 10)}`;
    const stored: StoredView = { id, type, view: viewJson(def, id, root ?? id, prev ?? null) };
    if (userId !== undefined) {
      stored.userId = userId;
    }
    views.push(stored);
    return stored;
  }
  function replaceView(stored: StoredView, def: Args): StoredView {
    checkExternalId(def, stored.id);
    const v = stored.view;
    stored.view = viewJson(
      def,
      stored.id,
      String(v.root_view_id),
      (v.previous_view_id as string | null) ?? null,
    );
    return stored;
  }
  function checkExternalId(def: Args, selfId: string | undefined): void {
    const ext = def.external_id;
    if (
      typeof ext === 'string' &&
      ext !== '' &&
      views.some((s) => s.id !== selfId && s.view.external_id === ext)
    ) {
      refuse('duplicate_external_id');
    }
  }
  /** Checks a trigger_id (§3.4); `consume` marks it exchanged. */
  function checkTrigger(args: Args): { userKey: string; consume: () => void } {
    const id =
      optStr(args, 'trigger_id') ?? optStr(args, 'interactivity_pointer') ?? refuse('invalid_arguments');
    const t = triggers.get(id) ?? refuse('invalid_trigger_id');
    if (t.used) {
      refuse('exchanged_trigger_id');
    }
    if (now() - t.issuedAt > TRIGGER_TTL_MS) {
      refuse('expired_trigger_id');
    }
    return {
      userKey: t.userId ?? '',
      consume: () => {
        t.used = true;
      },
    };
  }

  const methods: Record<string, (args: Args) => Args> = {
    'auth.test': () => ({
      url: 'https://hostlock-test.slack.com/',
      team: 'hostlock-test',
      user: users.get(botUserId)?.name,
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': (args) => {
      const c = postableChannel(reqStr(args, 'channel'));
      const body = content(args);
      if (!hasContent(body)) {
        refuse('no_text');
      }
      const threadTs = optStr(args, 'thread_ts');
      const m = store({
        channel: c.id,
        ts: nextTs(),
        text: body.text ?? '',
        ...body,
        ...(threadTs === undefined ? {} : { threadTs }),
        ...(args.metadata === undefined ? {} : { metadata: args.metadata }),
        user: botUserId,
        botId,
        via: 'api',
      });
      return { channel: c.id, ts: m.ts, message: messagePayload(m) };
    },
    'chat.update': (args) => {
      const c = channelFor(reqStr(args, 'channel'), false);
      const m = findMessage(c.id, reqStr(args, 'ts')) ?? refuse('message_not_found');
      if (m.user !== botUserId) {
        refuse('cant_update_message');
      }
      const body = content(args);
      if (body.text === undefined && body.blocks === undefined && body.attachments === undefined) {
        refuse('no_text');
      }
      if ((body.text?.length ?? 0) > MAX_UPDATE_TEXT) {
        refuse('msg_too_long');
      }
      // Absent blocks/attachments keep the previous ones; an empty array removes them.
      Object.assign(m, body);
      if (args.metadata !== undefined) {
        m.metadata = args.metadata;
      }
      m.edits += 1;
      return { channel: c.id, ts: m.ts, text: m.text, message: messagePayload(m) };
    },
    'chat.postEphemeral': (args) => {
      const c = postableChannel(reqStr(args, 'channel'));
      const user = users.get(reqStr(args, 'user'));
      if (!user || user.deleted) {
        refuse('user_not_in_channel');
      }
      const body = content(args);
      if (!hasContent(body)) {
        refuse('no_text');
      }
      const threadTs = optStr(args, 'thread_ts');
      const m = store({
        channel: c.id,
        ts: nextTs(),
        text: body.text ?? '',
        ...body,
        ...(threadTs === undefined ? {} : { threadTs }),
        ephemeralUser: reqStr(args, 'user'),
        user: botUserId,
        botId,
        via: 'api',
      });
      return { message_ts: m.ts };
    },
    'views.open': (args) => {
      const def = validView(args, 'modal');
      const trigger = checkTrigger(args);
      trigger.consume();
      const v = createView(def, 'modal', trigger.userKey || undefined);
      stacks.set(trigger.userKey, [v.id]);
      return { view: v.view };
    },
    'views.push': (args) => {
      const def = validView(args, 'modal');
      const trigger = checkTrigger(args);
      const stack = stacks.get(trigger.userKey) ?? [];
      const root = stack[0] ?? refuse('not_found');
      if (stack.length >= MAX_VIEW_STACK) {
        refuse('push_limit_reached');
      }
      trigger.consume();
      const v = createView(def, 'modal', trigger.userKey || undefined, root, stack[stack.length - 1]);
      stack.push(v.id);
      return { view: v.view };
    },
    'views.update': (args) => {
      const def = validView(args, undefined);
      const viewId = optStr(args, 'view_id');
      const externalId = optStr(args, 'external_id');
      if (viewId === undefined && externalId === undefined) {
        refuse('invalid_arguments');
      }
      const stored =
        views.find((s) => (viewId !== undefined ? s.id === viewId : s.view.external_id === externalId)) ??
        refuse('not_found');
      if (def.type !== stored.type) {
        refuse('invalid_arguments');
      }
      const hash = optStr(args, 'hash');
      if (hash !== undefined && hash !== stored.view.hash) {
        refuse('hash_conflict');
      }
      return { view: replaceView(stored, def).view };
    },
    'views.publish': (args) => {
      const userId = reqStr(args, 'user_id');
      const def = validView(args, 'home');
      if (!homeTabEnabled) {
        refuse('not_enabled');
      }
      const existing = views.find((s) => s.type === 'home' && s.userId === userId);
      const hash = optStr(args, 'hash');
      if (existing && hash !== undefined && hash !== existing.view.hash) {
        refuse('hash_conflict');
      }
      return { view: (existing ? replaceView(existing, def) : createView(def, 'home', userId)).view };
    },
    'usergroups.users.list': (args) => {
      const id = reqStr(args, 'usergroup');
      if (planUpgradeRequired) {
        refuse('plan_upgrade_required');
      }
      return { users: [...(usergroups.get(id) ?? refuse('no_such_subteam'))] };
    },
    'users.info': (args) => {
      const u = users.get(reqStr(args, 'user')) ?? refuse('user_not_found');
      return {
        user: {
          id: u.id,
          team_id: teamId,
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
    'conversations.info': (args) => ({ channel: channelJson(channelFor(reqStr(args, 'channel'), false)) }),
    'conversations.open': (args) => {
      const channelId = optStr(args, 'channel');
      const rawUsers = args.users;
      const ids = (Array.isArray(rawUsers) ? rawUsers.map(String) : (optStr(args, 'users') ?? '').split(','))
        .map((s) => s.trim())
        .filter((s) => s !== '');
      let c: Channel;
      let alreadyOpen = true;
      if (channelId !== undefined) {
        c = channels.get(channelId) ?? refuse('channel_not_found');
      } else {
        if (ids.length === 0) {
          refuse('invalid_arguments');
        }
        if (ids.length > 8) {
          refuse('too_many_users');
        }
        for (const id of ids) {
          const u = users.get(id) ?? refuse('user_not_found');
          if (u.deleted) {
            refuse('user_disabled');
          }
        }
        const key = [...ids].sort().join(',');
        const existing =
          ids.length === 1
            ? channels.get(dmChannelId(key))
            : [...channels.values()].find((x) => x.isMpim && x.users?.join(',') === key);
        alreadyOpen = existing !== undefined;
        c =
          existing ??
          (ids.length === 1
            ? openIm(key)
            : {
                id: `G${pad(++seq, 10)}`,
                isPrivate: true,
                isMember: true,
                isArchived: false,
                isIm: false,
                isMpim: true,
                users: key.split(','),
              });
        channels.set(c.id, c);
      }
      const full = args.return_im === true || args.return_im === 'true';
      return {
        ...(alreadyOpen ? { no_op: true, already_open: true } : {}),
        channel: full ? channelJson(c) : { id: c.id },
      };
    },
  };

  function takeFault(method: string): SlackFault | undefined {
    for (const key of [method, '*']) {
      const queue = faults.get(key);
      const head = queue?.[0];
      if (queue && head) {
        head.left -= 1;
        if (head.left <= 0) {
          queue.shift();
        }
        return head.fault;
      }
    }
    return undefined;
  }

  function handleApi(method: string, req: IncomingMessage, raw: string, query: URLSearchParams) {
    const contentType = req.headers['content-type'] ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    let args: Args = {};
    let token = bearer;
    let status = 200;
    let headers: Record<string, string> = {};
    let response: Args;
    try {
      args = decodeArgs(contentType, raw, query);
      if (token === undefined && typeof args.token === 'string') {
        token = args.token;
      }
      delete args.token;
      const handler = methods[method] ?? refuse('unknown_method');
      const fault = takeFault(method);
      if (fault) {
        status = fault.status ?? (fault.retryAfterSeconds === undefined ? 200 : 429);
        if (fault.retryAfterSeconds !== undefined) {
          headers = { 'retry-after': String(fault.retryAfterSeconds) };
        }
        refuse(fault.error ?? (status === 429 ? 'ratelimited' : 'internal_error'));
      }
      if (token === undefined || token === '') {
        refuse('not_authed');
      }
      if (token !== opts.botToken) {
        refuse('invalid_auth');
      }
      response = { ok: true, ...handler(args) };
    } catch (err) {
      if (!(err instanceof Refusal)) {
        throw err;
      }
      response = { ok: false, error: err.code };
    }
    calls.push({ method, args, token, contentType, rawBody: raw, at: now(), status, response });
    return { status, headers, response };
  }

  function handleRespond(id: string, raw: string): { status: number; body: Args } {
    const at = now();
    const sink = sinks.get(id);
    let body: unknown = raw;
    const record = (status: number, error?: string, extra: Partial<ResponseUrlPost> = {}) => {
      responses.push({ id, body, at, status, ...(error === undefined ? {} : { error }), ...extra });
      return { status, body: error === undefined ? { ok: true } : { ok: false, error } };
    };
    if (!sink) {
      return record(404, 'unknown_url');
    }
    try {
      body = JSON.parse(raw);
    } catch {
      return record(400, 'invalid_payload');
    }
    if (!isRecord(body)) {
      return record(400, 'invalid_payload');
    }
    if (at - sink.issuedAt > RESPONSE_URL_TTL_MS) {
      return record(404, 'expired_url');
    }
    if (sink.posts >= RESPONSE_URL_MAX_POSTS) {
      return record(404, 'used_url');
    }
    const b = body;
    let c: ReturnType<typeof content>;
    try {
      c = content(b);
    } catch (err) {
      return record(400, err instanceof Refusal ? err.code : 'invalid_payload');
    }
    const targetTs = sink.messageTs ?? sink.lastTs;
    const target =
      targetTs === undefined
        ? undefined
        : messages.find(
            (m) =>
              m.ts === targetTs &&
              !m.deleted &&
              (sink.channelId === undefined || m.channel === sink.channelId),
          );
    if (b.delete_original === true) {
      sink.posts += 1;
      if (target) {
        target.deleted = true;
      }
      return record(200, undefined, { effect: 'deleted', ...(target ? { message: target } : {}) });
    }
    if (!hasContent(c)) {
      return record(400, 'no_text');
    }
    sink.posts += 1;
    if (b.replace_original === true && target) {
      target.text = c.text ?? '';
      target.blocks = c.blocks ?? [];
      if (c.attachments) {
        target.attachments = c.attachments;
      }
      target.edits += 1;
      return record(200, undefined, { effect: 'replaced', message: target });
    }
    const threadTs = optStr(b, 'thread_ts');
    const inChannel = b.response_type === 'in_channel';
    const m = store({
      channel: sink.channelId ?? '',
      ts: nextTs(),
      text: c.text ?? '',
      ...c,
      ...(threadTs === undefined ? {} : { threadTs }),
      ...(!inChannel && sink.userId !== undefined ? { ephemeralUser: sink.userId } : {}),
      user: botUserId,
      botId,
      via: 'response_url',
    });
    sink.lastTs = m.ts;
    return record(200, undefined, { effect: 'posted', message: m });
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const raw = await readBody(req);
      const api = /^\/api\/([\w.]+)$/.exec(url.pathname);
      const respond = /^\/respond\/([^/]+)$/.exec(url.pathname);
      if (api?.[1] && (req.method === 'POST' || req.method === 'GET')) {
        const r = handleApi(api[1], req, raw, url.searchParams);
        send(res, r.status, r.response, r.headers);
      } else if (respond?.[1] && req.method === 'POST') {
        const r = handleRespond(respond[1], raw);
        send(res, r.status, r.body);
      } else {
        send(res, 404, { ok: false, error: 'not_found' });
      }
      notify();
    })().catch((err: unknown) => {
      send(res, 500, { ok: false, error: 'fatal_error', detail: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    teamId,
    botUserId,
    botId,
    calls,
    responses,
    messages,
    views,
    callsTo: (method) => calls.filter((c) => c.method === method),
    waitForCall: (method, predicate = () => true, timeoutMs = 2_000) =>
      waitFor(
        () => calls.find((c) => c.method === method && predicate(c)),
        timeoutMs,
        () =>
          `slack peer: no matching ${method} call within ${timeoutMs} ms; saw [${calls.map((c) => c.method).join(', ')}]`,
      ),
    waitForResponse: (predicate = () => true, timeoutMs = 2_000) =>
      waitFor(
        () => responses.find(predicate),
        timeoutMs,
        () =>
          `slack peer: no matching response_url post within ${timeoutMs} ms; saw ${JSON.stringify(responses.map((r) => r.body))}`,
      ),
    newResponseUrl: (ctx = {}) => {
      const id = `${pad(++seq, 6)}${hex(6)}`;
      sinks.set(id, { issuedAt: now(), posts: 0, ...ctx });
      return `${base}/respond/${id}`;
    },
    issueTriggerId: (ctx = {}) => {
      const id = `${100_000 + ++seq}.${7_890_123}.${hex(16)}`;
      triggers.set(id, { issuedAt: now(), used: false, ...ctx });
      return id;
    },
    addUser: (u) => {
      users.set(u.id, {
        id: u.id,
        name: u.name ?? u.id.toLowerCase(),
        realName: u.realName ?? u.name ?? u.id,
        ...(u.email === undefined ? {} : { email: u.email }),
        isBot: u.isBot ?? false,
        deleted: u.deleted ?? false,
      });
    },
    addChannel: (c) => {
      channels.set(c.id, {
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
      store({
        channel: m.channel,
        ts: m.ts ?? nextTs(),
        text: m.text,
        ...(m.blocks === undefined ? {} : { blocks: m.blocks }),
        user: m.user,
        via: 'seed',
      }),
    setUsergroup: (id, userIds) => {
      usergroups.set(id, [...userIds]);
    },
    setPlanUpgradeRequired: (on) => {
      planUpgradeRequired = on;
    },
    fail: (method, fault) => {
      const queue = faults.get(method) ?? [];
      queue.push({ fault, left: fault.times ?? 1 });
      faults.set(method, queue);
    },
    findMessage,
    view: (id) => views.find((v) => v.id === id),
    homeView: (userId) => views.find((v) => v.type === 'home' && v.userId === userId),
    dmChannelId,
    channelName: (id) => channels.get(id)?.name,
    userName: (id) => users.get(id)?.name,
    reset: () => {
      calls.length = 0;
      responses.length = 0;
      faults.clear();
    },
    close: async () => {
      for (const w of [...waiters]) {
        w.reject(new Error('slack peer closed while waiting'));
      }
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

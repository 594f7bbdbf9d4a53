// The public shapes of the Slack peer (options, recorded calls, stored messages and views, faults, the
// handle). `test/fakes/slack-peer.ts` re-exports every one of them; import them from there.
import type { FunctionExecution, OutputParameter } from './functions.js';

/** Options for `startSlackPeer` (test/fakes/slack-peer.ts). */
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
  /** What chat.unfurl attached, by URL (each call with the same message replaces its URLs' entries). */
  unfurls?: Record<string, unknown>;
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
  /** The answer comes this late; with no `error`, `status` or `retryAfterSeconds` it is the normal answer (a slow Slack). */
  delayMs?: number;
}

/** Handle on a running peer. */
export interface SlackPeer {
  /**
   * Starts a workflow step execution as Slack does when a workflow reaches the app's function:
   * its id and workflow token go into the `function_executed` event (SlackSigner.functionExecuted).
   */
  startFunction(o: {
    callbackId: string;
    outputParameters: Record<string, OutputParameter>;
  }): FunctionExecution;
  /** An execution as it stands: running, completed (with its outputs) or failed (with its error). */
  execution(id: string): FunctionExecution | undefined;
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
    /** legacy attachments, as alert bots still post them */
    attachments?: unknown[];
    /** set for a message another app's bot posted */
    botId?: string;
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

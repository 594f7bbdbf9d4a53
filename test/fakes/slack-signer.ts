// A user simulator: builds the requests Slack sends to the app (slash commands, clicks, submissions,
// events), signs them per shared/reference/slack.md §3.1 and POSTs them with the exact content types of §3.2.
// Written from the reference only; it deliberately does not use Bolt's signer or verifier.
import { createHmac, randomBytes } from 'node:crypto';
import { messagePayload, type SlackPeer } from './slack-peer.js';

/** Options for {@link SlackSigner}. */
export interface SignerOptions {
  signingSecret: string;
  /** e.g. `http://127.0.0.1:3000/slack/events` */
  eventsUrl: string;
  /** When given, response_url and trigger_id come from it, and clicks/submissions reuse its messages and views. */
  peer?: SlackPeer;
  /** Default: the peer's team, else `T0000TEAM`. */
  teamId?: string;
  /** Default `hostlock-test`. */
  teamDomain?: string;
  /** Default `A0000APP`. */
  apiAppId?: string;
  /** Millisecond clock for `X-Slack-Request-Timestamp` and payload times; default `Date.now`. */
  now?: () => number;
}

/**
 * Ways to break (or vary) one request. Each option changes only what it names; the signature stays valid
 * for everything else, so a rejection proves the verifier checks that one thing.
 */
export interface Tamper {
  /** Shifts the timestamp (and signs for the shifted value): only the replay window can reject it. */
  timestampOffsetSec?: number;
  /** Sends `v0=` + the correct digest with its last hex digit changed. */
  badSignature?: boolean;
  /** Signs with this secret instead. */
  wrongSecret?: string;
  /** Leaves out both `X-Slack-Request-Timestamp` and `X-Slack-Signature`. */
  omitHeaders?: boolean;
  /** Replaces the Content-Type header (the body and signature are unchanged). */
  contentType?: string;
  /** Signs the real body, then flips the low bit of one ASCII byte in the middle of what is sent. */
  flipBodyByte?: boolean;
  /** Labels the (correct v0) digest with this version, e.g. `v1=<hex>`: only a version check can reject it. */
  version?: string;
  /** Adds `X-Slack-Retry-Num` (Events API redelivery, §3.3). */
  retryNum?: number;
  /** `X-Slack-Retry-Reason`; default `http_timeout` when `retryNum` is set. */
  retryReason?: string;
  /** Sends (and correctly signs) this body instead of the built one. */
  rawBody?: string;
}

/** Exactly what went over the wire. */
export interface SentRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The app's HTTP answer. */
export interface SignedResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  text: string;
  /** `JSON.parse(text)`; throws on a non-JSON body. */
  json(): unknown;
  request: SentRequest;
  /** Wall-clock time until the response headers and body arrived. */
  elapsedMs: number;
  /** The response_url put in the payload, if any. */
  responseUrl?: string;
  /** The trigger_id put in the payload, if any. */
  triggerId?: string;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** Legacy verification token (§4.1 `token`): present in payloads, never to be trusted by the app. */
const VERIFICATION_TOKEN = 'legacy-verification-token';
/** Discard port: a response_url that refuses connections when no peer is given. */
const NO_PEER_RESPONSE_URL = 'http://127.0.0.1:9/respond/no-peer';
const DEFAULT_CHANNEL = { id: 'C0000CHAN', name: 'hostlock-test' };

/** Builds, signs and sends Slack → app requests. */
export class SlackSigner {
  private readonly o: SignerOptions;
  private readonly now: () => number;
  private readonly teamId: string;

  constructor(o: SignerOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.teamId = o.teamId ?? o.peer?.teamId ?? 'T0000TEAM';
  }

  /** `{ timestamp, signature: 'v0=' + hex(HMAC-SHA256(secret, 'v0:' + ts + ':' + rawBody)) }` (§3.1). */
  sign(rawBody: string, timestampSec: number): { timestamp: string; signature: string } {
    return {
      timestamp: String(timestampSec),
      signature: `v0=${hmac(this.o.signingSecret, timestampSec, rawBody)}`,
    };
  }

  /** A slash command (§4.1) as flat form fields. */
  command(
    o: {
      text: string;
      userId: string;
      userName?: string;
      channelId?: string;
      channelName?: string;
      command?: string;
    },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const channelId = o.channelId ?? DEFAULT_CHANNEL.id;
    const responseUrl = this.responseUrl({ channelId, userId: o.userId });
    const triggerId = this.triggerId(o.userId);
    const fields = {
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      team_domain: this.teamDomain(),
      channel_id: channelId,
      channel_name: o.channelName ?? this.o.peer?.channelName(channelId) ?? DEFAULT_CHANNEL.name,
      user_id: o.userId,
      user_name: this.userName(o.userId, o.userName),
      command: o.command ?? '/hostlock',
      text: o.text,
      api_app_id: this.apiAppId(),
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    };
    return this.send(new URLSearchParams(fields).toString(), FORM, tamper, { responseUrl, triggerId });
  }

  /**
   * A block_actions click (§4.2). Without `viewId` it is a click on a message (container `message`, with
   * `channel`, `message` and `response_url`); with `viewId` a click in a modal or App Home (container `view`).
   */
  blockAction(
    o: {
      userId: string;
      userName?: string;
      actionId: string;
      blockId: string;
      value?: string;
      selectedOption?: string;
      channelId?: string;
      messageTs?: string;
      /** Clicked on an ephemeral message (e.g. a command's ack reply, which the peer never sees). */
      isEphemeral?: boolean;
      viewId?: string;
      /** `view.state.values` for clicks inside a modal. */
      stateValues?: Record<string, Record<string, unknown>>;
      /** Extra fields merged into `actions[0]` (e.g. `{ type: 'users_select', selected_user: 'U1' }`). */
      action?: Record<string, unknown>;
    },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const triggerId = this.triggerId(o.userId);
    const action: Record<string, unknown> = {
      action_id: o.actionId,
      block_id: o.blockId,
      action_ts: this.slackTs(),
      ...(o.selectedOption === undefined
        ? {
            type: 'button',
            text: { type: 'plain_text', text: o.actionId, emoji: true },
            ...(o.value === undefined ? {} : { value: o.value }),
          }
        : { type: 'static_select', selected_option: option(o.selectedOption) }),
      ...o.action,
    };
    const base = {
      type: 'block_actions',
      user: this.user(o.userId, o.userName),
      api_app_id: this.apiAppId(),
      token: VERIFICATION_TOKEN,
      trigger_id: triggerId,
      team: { id: this.teamId, domain: this.teamDomain() },
      enterprise: null,
      is_enterprise_install: false,
    };
    if (o.viewId !== undefined) {
      const view = this.viewFor(o.viewId);
      if (o.stateValues) {
        view.state = { values: o.stateValues };
      }
      const payload = { ...base, container: { type: 'view', view_id: o.viewId }, view, actions: [action] };
      return this.sendPayload(payload, tamper, { triggerId });
    }
    const channelId = o.channelId ?? DEFAULT_CHANNEL.id;
    const peer = this.o.peer;
    const ts =
      o.messageTs ??
      peer?.messages.filter((m) => m.channel === channelId && !m.deleted).at(-1)?.ts ??
      '1700000000.000100';
    const stored = peer?.messages.find((m) => m.channel === channelId && m.ts === ts);
    const isEphemeral = o.isEphemeral ?? stored?.ephemeralUser !== undefined;
    const responseUrl = this.responseUrl({ channelId, userId: o.userId, messageTs: ts });
    const payload = {
      ...base,
      container: { type: 'message', message_ts: ts, channel_id: channelId, is_ephemeral: isEphemeral },
      channel: { id: channelId, name: peer?.channelName(channelId) ?? DEFAULT_CHANNEL.name },
      message: stored
        ? messagePayload(stored)
        : { type: 'message', ts, text: '', user: peer?.botUserId ?? 'U0000BOT', blocks: [] },
      state: { values: {} },
      response_url: responseUrl,
      actions: [action],
    };
    return this.sendPayload(payload, tamper, { responseUrl, triggerId });
  }

  /**
   * A message shortcut (`message_action`, docs.slack.dev interactivity "Message shortcuts"): the
   * shortcut's `callback_id`, the message it was used on (from the peer), a trigger_id and a
   * response_url for the channel.
   */
  messageShortcut(
    o: { userId: string; callbackId: string; channelId: string; messageTs: string },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const triggerId = this.triggerId(o.userId);
    const peer = this.o.peer;
    const stored = peer?.messages.find((m) => m.channel === o.channelId && m.ts === o.messageTs);
    const responseUrl = this.responseUrl({
      channelId: o.channelId,
      userId: o.userId,
      messageTs: o.messageTs,
    });
    const payload = {
      type: 'message_action',
      token: VERIFICATION_TOKEN,
      action_ts: this.slackTs(),
      team: { id: this.teamId, domain: this.teamDomain() },
      user: this.user(o.userId),
      channel: { id: o.channelId, name: peer?.channelName(o.channelId) ?? DEFAULT_CHANNEL.name },
      is_enterprise_install: false,
      enterprise: null,
      callback_id: o.callbackId,
      trigger_id: triggerId,
      response_url: responseUrl,
      message_ts: o.messageTs,
      message: stored ? messagePayload(stored) : { type: 'message', ts: o.messageTs, text: '' },
    };
    return this.sendPayload(payload, tamper, { responseUrl, triggerId });
  }

  /** A modal submission (§4.3); the view starts from the peer's stored view when `viewId` is known to it. */
  viewSubmission(
    o: {
      userId: string;
      userName?: string;
      callbackId: string;
      values: Record<string, Record<string, unknown>>;
      privateMetadata?: string;
      viewId?: string;
      hash?: string;
    },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const triggerId = this.triggerId(o.userId);
    const view = this.viewFor(o.viewId);
    Object.assign(view, {
      callback_id: o.callbackId,
      state: { values: o.values },
      ...(o.privateMetadata === undefined ? {} : { private_metadata: o.privateMetadata }),
      ...(o.hash === undefined ? {} : { hash: o.hash }),
    });
    const payload = {
      type: 'view_submission',
      team: { id: this.teamId, domain: this.teamDomain() },
      user: this.user(o.userId, o.userName),
      api_app_id: this.apiAppId(),
      token: VERIFICATION_TOKEN,
      trigger_id: triggerId,
      view,
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.sendPayload(payload, tamper, { triggerId });
  }

  /** A view_closed notification (§4.4): no trigger_id. */
  viewClosed(
    o: { userId: string; callbackId: string; viewId?: string; privateMetadata?: string; isCleared?: boolean },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const view = this.viewFor(o.viewId);
    Object.assign(view, {
      callback_id: o.callbackId,
      ...(o.privateMetadata === undefined ? {} : { private_metadata: o.privateMetadata }),
    });
    const payload = {
      type: 'view_closed',
      team: { id: this.teamId, domain: this.teamDomain() },
      user: this.user(o.userId),
      api_app_id: this.apiAppId(),
      token: VERIFICATION_TOKEN,
      view,
      is_cleared: o.isCleared ?? false,
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.sendPayload(payload, tamper, {});
  }

  /** An Events API `event_callback` envelope (§4.5) around `event` (`event_ts` filled in when absent). */
  event(
    o: { event: Record<string, unknown>; eventId?: string; extShared?: boolean },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const envelope = {
      token: VERIFICATION_TOKEN,
      team_id: this.teamId,
      api_app_id: this.apiAppId(),
      event: { event_ts: this.slackTs(), ...o.event },
      type: 'event_callback',
      event_id: o.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(this.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.teamId,
          user_id: this.o.peer?.botUserId ?? 'U0000BOT',
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: o.extShared ?? false,
    };
    return this.send(JSON.stringify(envelope), JSON_TYPE, tamper, {});
  }

  /** `app_home_opened` for `userId`, carrying the peer's published Home view once there is one. */
  appHomeOpened(
    o: { userId: string; tab?: 'home' | 'messages'; eventId?: string },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const home = this.o.peer?.homeView(o.userId);
    const event = {
      type: 'app_home_opened',
      user: o.userId,
      channel: this.o.peer?.dmChannelId(o.userId) ?? `D${o.userId.slice(1)}`,
      tab: o.tab ?? 'home',
      ...(home ? { view: home.view } : {}),
    };
    return this.event({ event, ...(o.eventId === undefined ? {} : { eventId: o.eventId }) }, tamper);
  }

  /**
   * `function_executed` (docs.slack.dev/reference/events/function_executed): a workflow reached
   * the app's step; `execution` comes from the peer (SlackPeer.startFunction), `fn` is the step
   * as the manifest declares it (its title and parameters travel in the event).
   */
  functionExecuted(
    o: {
      execution: { id: string; token: string; callbackId: string };
      inputs: Record<string, unknown>;
      fn?: { title?: string; description?: string; input_parameters?: unknown; output_parameters?: unknown };
      eventId?: string;
      /** the workflow run's id; Slack's shape (`Wx…`) unless told otherwise */
      workflowExecutionId?: string;
    },
    tamper?: Tamper,
  ): Promise<SignedResponse> {
    const params = (p: unknown) =>
      Object.entries((p ?? {}) as Record<string, Record<string, unknown>>).map(([name, def]) => ({
        name,
        ...def,
      }));
    const event = {
      type: 'function_executed',
      function: {
        id: `Fn${randomBytes(5).toString('hex').toUpperCase()}`,
        callback_id: o.execution.callbackId,
        title: o.fn?.title ?? o.execution.callbackId,
        description: o.fn?.description ?? '',
        type: 'app',
        input_parameters: params(o.fn?.input_parameters),
        output_parameters: params(o.fn?.output_parameters),
        app_id: this.apiAppId(),
        date_created: Math.floor(this.now() / 1000),
        date_updated: Math.floor(this.now() / 1000),
        date_deleted: 0,
      },
      inputs: o.inputs,
      function_execution_id: o.execution.id,
      workflow_execution_id: o.workflowExecutionId ?? `Wx${randomBytes(5).toString('hex').toUpperCase()}`,
      bot_access_token: o.execution.token,
    };
    return this.event({ event, ...(o.eventId === undefined ? {} : { eventId: o.eventId }) }, tamper);
  }

  /** The `url_verification` handshake (signed JSON); the app must echo `challenge`. */
  urlVerification(challenge: string, tamper?: Tamper): Promise<SignedResponse> {
    return this.send(
      JSON.stringify({ token: VERIFICATION_TOKEN, challenge, type: 'url_verification' }),
      JSON_TYPE,
      tamper,
      {},
    );
  }

  /** Signs and POSTs an arbitrary body. */
  async send(
    rawBody: string,
    contentType: string,
    tamper: Tamper = {},
    extra: { responseUrl?: string; triggerId?: string } = {},
  ): Promise<SignedResponse> {
    const body = tamper.rawBody ?? rawBody;
    const ts = Math.floor(this.now() / 1000) + (tamper.timestampOffsetSec ?? 0);
    let digest = hmac(tamper.wrongSecret ?? this.o.signingSecret, ts, body);
    if (tamper.badSignature) {
      digest = digest.slice(0, -1) + (digest.endsWith('0') ? '1' : '0');
    }
    const headers: Record<string, string> = { 'content-type': tamper.contentType ?? contentType };
    if (!tamper.omitHeaders) {
      headers['x-slack-request-timestamp'] = String(ts);
      headers['x-slack-signature'] = `${tamper.version ?? 'v0'}=${digest}`;
    }
    if (tamper.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(tamper.retryNum);
      headers['x-slack-retry-reason'] = tamper.retryReason ?? 'http_timeout';
    } else if (tamper.retryReason !== undefined) {
      headers['x-slack-retry-reason'] = tamper.retryReason;
    }
    return this.resend(
      { url: this.o.eventsUrl, headers, body: tamper.flipBodyByte ? flipMiddleByte(body) : body },
      extra,
    );
  }

  /** Sends a previously sent request again byte for byte (same timestamp and signature): a replay. */
  async resend(
    request: SentRequest,
    extra: { responseUrl?: string; triggerId?: string } = {},
  ): Promise<SignedResponse> {
    const started = performance.now();
    const res = await fetch(request.url, {
      method: 'POST',
      headers: { 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)', ...request.headers },
      body: request.body,
      redirect: 'manual',
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers),
      text,
      json: () => JSON.parse(text) as unknown,
      request,
      elapsedMs: performance.now() - started,
      ...extra,
    };
  }

  private sendPayload(
    payload: Record<string, unknown>,
    tamper: Tamper | undefined,
    extra: { responseUrl?: string; triggerId?: string },
  ): Promise<SignedResponse> {
    return this.send(
      new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      FORM,
      tamper,
      extra,
    );
  }

  private responseUrl(ctx: { channelId: string; userId: string; messageTs?: string }): string {
    return this.o.peer?.newResponseUrl(ctx) ?? NO_PEER_RESPONSE_URL;
  }

  private triggerId(userId: string): string {
    return (
      this.o.peer?.issueTriggerId({ userId }) ??
      `${Math.floor(this.now() / 1000)}.${7_890_123}.${randomBytes(16).toString('hex')}`
    );
  }

  /** A mutable copy of the peer's view, or a minimal modal when the peer does not know `viewId`. */
  private viewFor(viewId: string | undefined): Record<string, unknown> {
    const stored = viewId === undefined ? undefined : this.o.peer?.view(viewId);
    if (stored) {
      return structuredClone(stored.view);
    }
    const id = viewId ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
    return {
      id,
      team_id: this.teamId,
      type: 'modal',
      blocks: [],
      private_metadata: '',
      callback_id: '',
      state: { values: {} },
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: 'hostlock' },
      root_view_id: id,
      previous_view_id: null,
      app_id: this.apiAppId(),
      app_installed_team_id: this.teamId,
      bot_id: this.o.peer?.botId ?? 'B0000BOT',
    };
  }

  private user(userId: string, userName?: string): Record<string, unknown> {
    const name = this.userName(userId, userName);
    return { id: userId, username: name, name, team_id: this.teamId };
  }

  private userName(userId: string, userName: string | undefined): string {
    return userName ?? this.o.peer?.userName(userId) ?? userId.toLowerCase();
  }

  private teamDomain(): string {
    return this.o.teamDomain ?? 'hostlock-test';
  }

  private apiAppId(): string {
    return this.o.apiAppId ?? 'A0000APP';
  }

  private slackTs(): string {
    const ms = this.now();
    return `${Math.floor(ms / 1000)}.${String(Math.floor(ms % 1000) * 1000).padStart(6, '0')}`;
  }
}

function hmac(secret: string, timestampSec: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`v0:${timestampSec}:${rawBody}`, 'utf8').digest('hex');
}

function option(value: string): Record<string, unknown> {
  return { text: { type: 'plain_text', text: value, emoji: true }, value };
}

/** Flips the low bit of the first ASCII character at or after the middle: exactly one byte changes. */
function flipMiddleByte(body: string): string {
  for (let i = Math.floor(body.length / 2); i < body.length; i++) {
    const code = body.charCodeAt(i);
    if (code >= 0x20 && code < 0x7e) {
      return body.slice(0, i) + String.fromCharCode(code ^ 1) + body.slice(i + 1);
    }
  }
  return `${body} `;
}

// chat.postMessage, chat.update, chat.postEphemeral and posts on response_url sinks (`/respond/<id>`),
// shared/reference/slack.md §5 and §9.4.

import { WORKSPACE_URL } from './auth.js';
import { type Args, isRecord, type MethodTable, optStr, Refusal, refuse, reqStr } from './protocol.js';
import {
  channelFor,
  findMessage,
  nextTs,
  type PeerState,
  postableChannel,
  type Sink,
  store,
} from './state.js';
import type { ResponseUrlPost, StoredMessage } from './types.js';

const RESPONSE_URL_MAX_POSTS = 5;
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const MAX_MESSAGE_BLOCKS = 50;
const MAX_UPDATE_TEXT = 4_000;

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

type Content = { text?: string; blocks?: unknown[]; attachments?: unknown[] };

/** Validates message content the way chat.* do; only fields present in `args` are returned. */
function content(args: Args): Content {
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
  const out: Content = {};
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
const hasContent = (c: Content): boolean =>
  c.text !== undefined || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;

/** What chat.postMessage and chat.postEphemeral share: refuse an empty message, store the bot's post. */
function storeBotPost(s: PeerState, channel: string, args: Args, extra: Record<string, unknown>) {
  const body = content(args);
  if (!hasContent(body)) {
    refuse('no_text');
  }
  const threadTs = optStr(args, 'thread_ts');
  return store(s, {
    channel,
    ts: nextTs(s),
    text: body.text ?? '',
    ...body,
    ...(threadTs === undefined ? {} : { threadTs }),
    ...extra,
    user: s.botUserId,
    botId: s.botId,
    via: 'api',
  });
}

function postMessage(s: PeerState, args: Args): Args {
  const c = postableChannel(s, reqStr(args, 'channel'));
  const m = storeBotPost(s, c.id, args, args.metadata === undefined ? {} : { metadata: args.metadata });
  return { channel: c.id, ts: m.ts, message: messagePayload(m) };
}

function update(s: PeerState, args: Args): Args {
  const c = channelFor(s, reqStr(args, 'channel'), false);
  const m = findMessage(s, c.id, reqStr(args, 'ts')) ?? refuse('message_not_found');
  if (m.user !== s.botUserId) {
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
}

function postEphemeral(s: PeerState, args: Args): Args {
  const c = postableChannel(s, reqStr(args, 'channel'));
  const user = s.users.get(reqStr(args, 'user'));
  if (!user || user.deleted) {
    refuse('user_not_in_channel');
  }
  const m = storeBotPost(s, c.id, args, { ephemeralUser: reqStr(args, 'user') });
  return { message_ts: m.ts };
}

/**
 * chat.getPermalink (docs.slack.dev/reference/methods/chat.getPermalink): `channel` and
 * `message_ts` of an existing message; answers the channel and an
 * `https://<workspace>.slack.com/archives/<channel>/p<ts without its dot>` link.
 */
function getPermalink(s: PeerState, args: Args): Args {
  const c = channelFor(s, reqStr(args, 'channel'), false);
  const m = findMessage(s, c.id, reqStr(args, 'message_ts')) ?? refuse('message_not_found');
  return { channel: c.id, permalink: `${WORKSPACE_URL}archives/${c.id}/p${m.ts.replace('.', '')}` };
}

/**
 * chat.unfurl (docs.slack.dev/reference/methods/chat.unfurl, scope links:write): `channel` + `ts` of
 * the message that holds the links (or `unfurl_id` + `source`, not emulated), and `unfurls`, a JSON
 * map from each URL to its `blocks` or `attachments`. A URL not in the message is refused.
 */
function unfurl(s: PeerState, args: Args): Args {
  const c = channelFor(s, reqStr(args, 'channel'), false);
  const m = findMessage(s, c.id, reqStr(args, 'ts')) ?? refuse('cannot_unfurl_message');
  let unfurls: unknown = args.unfurls;
  if (typeof unfurls === 'string') {
    try {
      unfurls = JSON.parse(unfurls);
    } catch {
      refuse('invalid_unfurls_format');
    }
  }
  if (!isRecord(unfurls) || Object.keys(unfurls).length === 0) {
    return refuse(unfurls === undefined ? 'missing_unfurls' : 'invalid_unfurls_format');
  }
  for (const [url, body] of Object.entries(unfurls as Record<string, unknown>)) {
    if (!m.text.includes(url)) {
      refuse('cannot_unfurl_url');
    }
    if (!isRecord(body) || !(Array.isArray(body.blocks) || Array.isArray(body.attachments))) {
      refuse('invalid_unfurls_format');
    }
    if (
      Array.isArray((body as Args).blocks) &&
      ((body as Args).blocks as unknown[]).length > MAX_MESSAGE_BLOCKS
    ) {
      refuse('invalid_blocks');
    }
  }
  m.unfurls = { ...m.unfurls, ...unfurls };
  return {};
}

/** chat.postMessage, chat.update, chat.postEphemeral, chat.getPermalink and chat.unfurl. */
export function chatMethods(s: PeerState): MethodTable {
  return {
    'chat.postMessage': (args) => postMessage(s, args),
    'chat.update': (args) => update(s, args),
    'chat.postEphemeral': (args) => postEphemeral(s, args),
    'chat.getPermalink': (args) => getPermalink(s, args),
    'chat.unfurl': (args) => unfurl(s, args),
  };
}

/** What a response_url sink answers: HTTP status and JSON body. */
export interface RespondAnswer {
  status: number;
  body: Args;
}
type Recorder = (status: number, error?: string, extra?: Partial<ResponseUrlPost>) => RespondAnswer;

/** Handles a POST on the response_url sink `id`, records it in `responses` and returns the answer. */
export function handleRespond(s: PeerState, id: string, raw: string): RespondAnswer {
  const at = s.now();
  const sink = s.sinks.get(id);
  let body: unknown = raw;
  const record: Recorder = (status, error, extra = {}) => {
    s.responses.push({ id, body, at, status, ...(error === undefined ? {} : { error }), ...extra });
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
  return applyResponse(s, sink, body, record);
}

/** Applies an accepted-so-far response_url body: delete, replace or post a message. */
function applyResponse(s: PeerState, sink: Sink, b: Args, record: Recorder): RespondAnswer {
  let c: Content;
  try {
    c = content(b);
  } catch (err) {
    return record(400, err instanceof Refusal ? err.code : 'invalid_payload');
  }
  const targetTs = sink.messageTs ?? sink.lastTs;
  const target =
    targetTs === undefined
      ? undefined
      : s.messages.find(
          (m) =>
            m.ts === targetTs && !m.deleted && (sink.channelId === undefined || m.channel === sink.channelId),
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
  const m = store(s, {
    channel: sink.channelId ?? '',
    ts: nextTs(s),
    text: c.text ?? '',
    ...c,
    ...(threadTs === undefined ? {} : { threadTs }),
    ...(!inChannel && sink.userId !== undefined ? { ephemeralUser: sink.userId } : {}),
    user: s.botUserId,
    botId: s.botId,
    via: 'response_url',
  });
  sink.lastTs = m.ts;
  return record(200, undefined, { effect: 'posted', message: m });
}

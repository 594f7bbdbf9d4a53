import { webApi } from '@slack/bolt';
import { type NotificationEvent, parseEventPayload } from '../core/events.js';
import { parseThreadPayload, type ThreadPoster } from '../core/lockdown/thread-note.js';
import type { SyslogTarget } from '../core/settings/settings.js';
import { parseSink, sinkTakes } from '../core/sinks.js';
import type { Logger } from '../log.js';
import type { EventContext } from './event-context.js';
import type { SyslogPool } from './outbox-syslog-pool.js';
import { alertText } from './slack-alert.js';
import { type SyslogIdentity, syslogLineFor } from './syslog-sink.js';

/** A sink refused a row; `retryAfterMs` is how long it asked us to wait (Slack's Retry-After), if it said. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Where the outbox worker delivers: Slack alert channels and syslog targets. */
export interface Sinks {
  /** a client of its own: rate-limited calls are rejected (not waited out in the client) */
  slack: webApi.WebClient;
  /** posts a lockdown's thread note (the Slack announcer); absent: thread rows wait */
  thread?: ThreadPoster;
  syslog: SyslogPool;
  identity: SyslogIdentity;
  /** fills a syslog line's person name and link */
  context?: EventContext;
  /** this instance's address as a syslog target sees it (CEF `dvc`, JSON `headend_addr`) */
  sourceAddress?: (target: SyslogTarget) => Promise<string | null>;
  log?: Logger;
}

/**
 * Sends one event to the sink its outbox row names. Resolves with the number of the stream
 * connection that carried it (0 when there is none to watch: Slack, UDP); rejects when the sink
 * did not take it, so the row is tried again.
 */
export async function deliver(sinks: Sinks, sink: string, payload: Record<string, unknown>): Promise<number> {
  const s = parseSink(sink);
  if (!s) {
    throw new SinkError(`unknown sink ${sink}`);
  }
  if (s.kind === 'thread') {
    if (!sinks.thread) {
      throw new SinkError('no Slack thread poster in this process');
    }
    try {
      await sinks.thread(parseThreadPayload(payload));
    } catch (err) {
      throw sinkError(err);
    }
    return 0;
  }
  const e = parseEventPayload(payload);
  if (s.kind === 'slack') {
    await postAlert(sinks.slack, s.channel, e);
    return 0;
  }
  if (!sinkTakes(s, e)) {
    // queued before this target took Vectra's events only (profile=vectra, the default since #19)
    sinks.log?.info({ sink, event: e.name, eventId: e.id }, 'syslog.not_sent_vectra_profile');
    return 0;
  }
  const [full, dvc] = await Promise.all([
    sinks.context ? sinks.context.enrich(e) : e,
    sinks.sourceAddress ? sinks.sourceAddress(s.target) : null,
  ]);
  const line = syslogLineFor(full, s.target, dvc ? { ...sinks.identity, dvc } : sinks.identity);
  if (line === null) {
    return 0; // queued before this target took Vectra's events only: nothing to send
  }
  return await sinks.syslog.send(sink, s.target, line);
}

/** The Slack sink: the event's alert in one channel; a rate limit carries Slack's Retry-After. */
async function postAlert(slack: webApi.WebClient, channel: string, e: NotificationEvent): Promise<void> {
  try {
    await slack.chat.postMessage({
      channel,
      text: alertText(e),
      unfurl_links: false,
      unfurl_media: false,
    });
  } catch (err) {
    throw sinkError(err);
  }
}

/** A Slack Web API failure as a SinkError; a rate limit carries Slack's Retry-After. */
function sinkError(err: unknown): SinkError {
  const x = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
  if (x.code === webApi.ErrorCode.RateLimitedError) {
    return new SinkError('slack rate limited', (x.retryAfter ?? 1) * 1_000);
  }
  return new SinkError(`slack ${x.data?.error ?? x.message ?? String(err)}`);
}

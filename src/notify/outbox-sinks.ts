import { webApi } from '@slack/bolt';
import type { NotificationEvent } from '../core/events.js';
import { parseSink } from '../core/sinks.js';
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
  syslog: SyslogPool;
  identity: SyslogIdentity;
}

/**
 * Sends one event to the sink its outbox row names. Resolves with the number of the stream
 * connection that carried it (0 when there is none to watch: Slack, UDP); rejects when the sink
 * did not take it, so the row is tried again.
 */
export async function deliver(sinks: Sinks, sink: string, e: NotificationEvent): Promise<number> {
  const s = parseSink(sink);
  if (!s) {
    throw new SinkError(`unknown sink ${sink}`);
  }
  if (s.kind === 'slack') {
    await postAlert(sinks.slack, s.channel, e);
    return 0;
  }
  const line = syslogLineFor(e, s.target, sinks.identity);
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
    const x = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
    if (x.code === webApi.ErrorCode.RateLimitedError) {
      throw new SinkError('slack rate limited', (x.retryAfter ?? 1) * 1_000);
    }
    throw new SinkError(`slack ${x.data?.error ?? x.message ?? String(err)}`);
  }
}

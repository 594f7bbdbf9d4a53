import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { webApi } from '@slack/bolt';
import type { Clock } from '../core/clock.js';
import type { FaultHook } from '../core/faults.js';
import type { ThreadPoster } from '../core/lockdown/thread-note.js';
import type { DatabaseHandle } from '../db/client.js';
import type { Logger } from '../log.js';
import { HOSTLOCK_VERSION } from '../version.js';
import { slackEventContext } from './event-context.js';
import { createOutboxWorker, type OutboxWorker } from './outbox-worker.js';
import { sourceAddresses } from './syslog/source-address.js';

export interface OutboxStart {
  slack: { botToken: string; apiUrl: string };
  /** PEM file of extra CAs for TLS syslog receivers */
  syslogCaFile: string | undefined;
  log: Logger;
  staleAfterMs: number;
  tuning?: { pollMs?: number; resendWindowMs?: number; retryBaseMs?: number };
  faults?: FaultHook;
  /** the Slack thread poster, built on the outbox's own client (no retries inside the client) */
  threadPoster?: (slack: webApi.WebClient) => ThreadPoster;
  /** Defender's page of a machine: a syslog line's link when its lockdown has no Slack thread */
  portalUrl: (machineId: string) => string;
  /** HOSTLOCK_SYSLOG_SOURCE_ADDR */
  syslogSourceAddress?: string | undefined;
}

/**
 * The outbox worker, started, with a Slack client of its own that rejects rate-limited calls
 * instead of waiting (the outbox waits out Retry-After itself, holding no request).
 */
export async function startOutbox(
  o: OutboxStart,
  database: DatabaseHandle,
  clock: Clock,
): Promise<OutboxWorker> {
  const slack = new webApi.WebClient(o.slack.botToken, {
    slackApiUrl: o.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000, // below the outbox lease: a hung call never outlives its claim
  });
  const outbox = createOutboxWorker({
    database,
    slack,
    ...(o.threadPoster ? { thread: o.threadPoster(slack) } : {}),
    syslog: {
      hostname: os.hostname(),
      version: HOSTLOCK_VERSION,
      procId: String(process.pid),
      ...(o.syslogCaFile ? { ca: await readFile(o.syslogCaFile, 'utf8') } : {}),
    },
    context: slackEventContext({ slack, portalUrl: o.portalUrl, log: o.log.child({ component: 'outbox' }) }),
    sourceAddress: sourceAddresses({ configured: o.syslogSourceAddress }),
    clock,
    log: o.log.child({ component: 'outbox' }),
    staleAfterMs: o.staleAfterMs,
    ...(o.tuning?.pollMs ? { pollMs: o.tuning.pollMs } : {}),
    ...(o.tuning?.resendWindowMs ? { resendWindowMs: o.tuning.resendWindowMs } : {}),
    ...(o.tuning?.retryBaseMs ? { retryBaseMs: o.tuning.retryBaseMs } : {}),
    ...(o.faults ? { faults: o.faults } : {}),
  });
  await outbox.start();
  return outbox;
}

import type { webApi } from '@slack/bolt';
import type { Clock } from '../core/clock.js';
import { parseSink } from '../core/sinks.js';
import type { Database } from '../db/client.js';
import { takeStale } from '../db/repos/outbox.js';
import { readSettings } from '../db/repos/settings.js';
import type { Logger } from '../log.js';

export interface StaleReportOptions {
  db: Database;
  clock: Clock;
  log: Logger;
  slack: webApi.WebClient;
  /** undelivered this long, a row is reported */
  staleAfterMs: number;
}

/** One sink's rows newly found undelivered for too long (see `takeStale`). */
type StaleSink = Awaited<ReturnType<typeof takeStale>>[number];

/**
 * Returns the stale-row report: rows undelivered for `staleAfterMs` are reported once each, in the
 * log and in the alert channels. Looked for at most once a minute unless `force` is set.
 */
export function createStaleReport(o: StaleReportOptions): (force: boolean) => Promise<void> {
  // A closure: the time of the last look is kept from one worker pass to the next.
  let lastStaleCheck = 0;
  return async (force) => {
    const now = o.clock.now();
    if (!force && now.getTime() - lastStaleCheck < 60_000) {
      return;
    }
    lastStaleCheck = now.getTime();
    const stale = await takeStale(o.db, now, o.staleAfterMs);
    for (const s of stale) {
      await reportSink(o, s);
    }
  };
}

async function reportSink(o: StaleReportOptions, s: StaleSink): Promise<void> {
  o.log.error(
    { sink: s.sink, undelivered: s.count, since: s.since.toISOString(), lastError: s.lastError },
    'outbox.undelivered',
  );
  const sink = parseSink(s.sink);
  const text = staleText(s, o.staleAfterMs);
  // Told directly in every alert channel but the failing one; the outbox is what is failing.
  const channels = (await readSettings(o.db)).alertChannels;
  for (const channel of channels.filter((c) => !(sink?.kind === 'slack' && sink.channel === c))) {
    await o.slack.chat
      .postMessage({ channel, text, unfurl_links: false })
      .catch((err: unknown) => o.log.error({ err, channel }, 'outbox.stale_report_failed'));
  }
}

function staleText(s: StaleSink, staleAfterMs: number): string {
  const hours = Math.round(staleAfterMs / 3_600_000);
  return `:rotating_light: *hostlock could not deliver ${s.count} notification(s) to \`${s.sink.replace(/`/g, "'")}\` for over ${hours} h* (oldest ${s.since.toISOString()}; last error: ${(s.lastError ?? 'none').replace(/[<>&`]/g, ' ').slice(0, 300)}). They are kept and retried.`;
}

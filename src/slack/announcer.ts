import type { webApi } from '@slack/bolt';
import type { EventName, ThreadNote } from '../core/events.js';
import type { Announcer } from '../core/lockdown/ports.js';
import type { Lockdown } from '../core/lockdown/types.js';
import type { Settings } from '../core/settings/settings.js';
import type { Logger } from '../log.js';
import { eventText, extendBlocks, lockdownRootBlocks, lockdownRootText } from './blocks/lockdown.js';

/**
 * One thread per lockdown: the request is the root message (in the approver channel, else where it
 * was asked); later events are replies, and the root is rewritten to the current state. Slack
 * failures are logged and never undo what happened.
 */
export function createSlackAnnouncer(deps: {
  client: webApi.WebClient;
  settings: () => Promise<Settings>;
  log: Logger;
}): Announcer {
  const { client, log } = deps;
  return {
    async requested(l) {
      const settings = await deps.settings();
      const channel = settings.approverChannel ?? l.requestChannel;
      if (!channel) {
        return null;
      }
      try {
        const r = await client.chat.postMessage({
          channel,
          text: lockdownRootText(l),
          blocks: lockdownRootBlocks(l),
          unfurl_links: false,
          unfurl_media: false,
        });
        return r.ts && r.channel ? { channel: r.channel, ts: r.ts } : null;
      } catch (e) {
        log.error({ err: e, lockdownId: l.id, channel }, 'slack.announce_failed');
        return null;
      }
    },

    async event(name: EventName | ThreadNote, l: Lockdown, detail?: string) {
      if (!l.approvalChannel || !l.approvalTs) {
        return;
      }
      const text = eventText(name, l, detail);
      try {
        await client.chat.postMessage({
          channel: l.approvalChannel,
          thread_ts: l.approvalTs,
          text,
          ...(name === 'ending_soon' && l.state === 'active' ? { blocks: extendBlocks(l, text) } : {}),
          unfurl_links: false,
          unfurl_media: false,
        });
        await client.chat.update({
          channel: l.approvalChannel,
          ts: l.approvalTs,
          text: lockdownRootText(l),
          blocks: lockdownRootBlocks(l),
        });
      } catch (e) {
        log.error({ err: e, lockdownId: l.id, event: name }, 'slack.announce_failed');
      }
    },
  };
}

import type { App, types } from '@slack/bolt';
import { can } from '../../core/permissions.js';
import { hostCard } from '../blocks/host-card.js';
import type { SlackDeps } from '../deps.js';

/** Links unfurled in one message at most: a message pasting a whole list gets the first few. */
export const UNFURLS_PER_MESSAGE = 5;

/** A machine's page in the configured cloud's Defender portal: `…/machines/<id>` or `…/machines/v2/<id>/…`. */
const MACHINE_PATH = /^\/machines\/(?:v2\/)?([0-9a-f]{40})(?:\/[A-Za-z0-9_-]*)?\/?$/i;

/** The machine id a link names, when it is the portal's own host (no look-alike domain) and a machine page. */
export function machineIdOfLink(url: string, portal: string): string | null {
  let u: URL;
  let p: URL;
  try {
    u = new URL(url);
    p = new URL(portal);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' || u.host.toLowerCase() !== p.host.toLowerCase() || u.username || u.password) {
    return null;
  }
  return MACHINE_PATH.exec(u.pathname)?.[1]?.toLowerCase() ?? null;
}

/**
 * Defender machine links posted where hostlock is (issue #18, item 8) unfurl into the compact
 * host card, from the inventory (a link never makes hostlock call Defender). Only for a poster who
 * may view lockdowns: the card is then seen by the whole channel, as the link is. No controls in
 * it: anyone in the channel could click them.
 */
export function registerLinkShared(app: App, deps: SlackDeps): void {
  app.event('link_shared', async ({ event, body, client }) => {
    const e = event as unknown as {
      user?: string;
      channel?: string;
      message_ts?: string;
      is_bot_user_member?: boolean;
      links?: Array<{ url?: string }>;
    };
    if (!e.user || !e.channel || !e.message_ts || !Array.isArray(e.links)) {
      return;
    }
    // only where hostlock is a member, and never where people of another organisation read along
    if (
      e.is_bot_user_member !== true ||
      (body as { is_ext_shared_channel?: boolean }).is_ext_shared_channel
    ) {
      deps.log.info({ channel: e.channel }, 'unfurl.not_here');
      return;
    }
    const actor = await deps.actors.resolve(e.user);
    if (!can(actor, 'lockdown:view')) {
      deps.log.info({ user: e.user }, 'unfurl.not_permitted');
      return;
    }
    // the configured cloud's portal, as the cards link it
    const portal = new URL(deps.portalUrl('0'.repeat(40))).origin;
    const now = deps.clock.now();
    // the machine links, each machine once, the first few; then their hosts in one statement
    const links = new Map<string, string>(); // machine id → the URL as posted
    for (const link of e.links.slice(0, UNFURLS_PER_MESSAGE * 4)) {
      const machineId = typeof link.url === 'string' ? machineIdOfLink(link.url, portal) : null;
      if (machineId && link.url && !links.has(machineId) && links.size < UNFURLS_PER_MESSAGE) {
        links.set(machineId, link.url);
      }
    }
    const ids = [...links.keys()];
    const found = await deps.hosts.searchMany(
      ids.map((value) => ({ kind: 'machine_id' as const, value })),
      1,
    );
    const unfurls: Record<string, { blocks: types.KnownBlock[] }> = {};
    for (const [i, machineId] of ids.entries()) {
      const host = found[i]?.hosts[0];
      const url = links.get(machineId);
      if (!host || !url) {
        continue;
      }
      // compact: what the machine is and whether it is isolated; not who locked it, nor its
      // exclusion (the whole channel reads it), nor any control
      unfurls[url] = {
        blocks: hostCard({
          host,
          lockdown: null,
          permissions: new Set(),
          now,
          portalUrl: deps.portalUrl(host.machineId),
        }).filter((b) => b.type !== 'actions'),
      };
    }
    if (Object.keys(unfurls).length === 0) {
      deps.log.info({ links: e.links.length }, 'unfurl.no_known_machine');
      return;
    }
    await client.chat
      .unfurl({ channel: e.channel, ts: e.message_ts, unfurls })
      .catch((err: unknown) => deps.log.warn({ err }, 'unfurl.failed'));
  });
}

import type { types } from '@slack/bolt';
import type { Host, OpenLockdown } from '../../core/hosts/types.js';
import { truncateMrkdwn } from '../../core/mrkdwn.js';
import { PERMISSIONS, type Permission } from '../../core/permissions.js';
import { COMMAND } from '../commands/hostlock.js';
import { codeLiteral, mrkdwnLink } from './format.js';
import { isolationText } from './host-status.js';

/** Home views hold at most 100 blocks (slack.md §6); 40 rows leave room for everything around them. */
const HOSTS_SHOWN = 40;
const MAX_BLOCKS = 100;
const VIEW: Permission = 'lockdown:view';

/** What each permission lets its holder do, in the words the Home tab shows. */
const PERMISSION_WORDS: Record<Permission, string> = {
  'settings:view': 'see the settings',
  'settings:edit': 'change settings, roles and API tokens',
  'lockdown:view': 'look up hosts and see lockdowns',
  'lockdown:edit': 'request and release lockdowns',
  'lockdown:approve': "approve other people's lockdown requests",
};

const section = (text: string): types.SectionBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncateMrkdwn(text, 3000) },
});

/** What `homeView` renders. */
export interface HomeViewInput {
  userId: string;
  permissions: ReadonlySet<Permission>;
  /** role names bound to the user, directly or through a user group */
  roles: string[];
  /** the isolated hosts to list, in the order to show them (may be fewer than `total`) */
  isolated: Array<{ host: Host; lockdown: OpenLockdown | null }>;
  /** how many hosts are isolated in all */
  total: number;
  now: Date;
  portalUrl: (machineId: string) => string;
  /** whom to ask for a role (the admins, by mention), shown to someone who has none */
  whoToAsk?: string;
}

function permissionBlocks(input: HomeViewInput): types.KnownBlock[] {
  const held = PERMISSIONS.filter((p) => input.permissions.has(p));
  if (held.length === 0) {
    return [section(`*Your permissions*\nnone. ${input.whoToAsk ?? 'Ask a hostlock admin for a role.'}`)];
  }
  const roles = input.roles.length > 0 ? input.roles.map((r) => codeLiteral(r, 40)).join(', ') : '—';
  const lines = held.map((p) => `• \`${p}\`: ${PERMISSION_WORDS[p]}`);
  return [section(`*Your permissions* (roles: ${roles})\n${lines.join('\n')}`)];
}

function isolatedBlocks(input: HomeViewInput): types.KnownBlock[] {
  const total = Math.max(input.total, input.isolated.length);
  const shown = input.isolated.slice(0, HOSTS_SHOWN);
  const blocks: types.KnownBlock[] = [{ type: 'divider' }, section(`*Isolated hosts (${total})*`)];
  if (shown.length === 0) {
    blocks.push(section('No host is isolated right now.'));
  }
  for (const { host, lockdown } of shown) {
    const name = codeLiteral(host.name.trim() || host.machineId);
    const portal = mrkdwnLink(input.portalUrl(host.machineId), 'Defender portal');
    blocks.push(section(`${name} · ${portal}\n${isolationText(host, lockdown, input.now)}`));
  }
  if (total > shown.length) {
    const more = total - shown.length;
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `and ${more} more — use \`${COMMAND} list\`` }],
    });
  }
  return blocks;
}

/**
 * The App Home tab: the viewer's permissions, and — only with `lockdown:view` — the isolated hosts
 * (at most 40 rows, then a pointer to `/hostlock list`). Always within the 100-block view limit.
 */
export function homeView(input: HomeViewInput): types.HomeView {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'hostlock' } },
    // The id comes from Slack's event, but a mention is markup: build one only from an id's shape.
    section(
      `${/^[UW][A-Z0-9]+$/.test(input.userId) ? `Hi <@${input.userId}>. ` : ''}Type \`${COMMAND} help\` anywhere to see what you can do.`,
    ),
    ...permissionBlocks(input),
  ];
  if (input.permissions.has(VIEW)) {
    blocks.push(...isolatedBlocks(input));
  }
  return { type: 'home', blocks: blocks.slice(0, MAX_BLOCKS) };
}

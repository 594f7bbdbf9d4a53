import type { types } from '@slack/bolt';
import type { Host, OpenLockdown } from '../../core/hosts/types.js';
import type { Exclusion } from '../../core/lockdown/exclusions.js';
import { LOCKDOWN_DURATIONS_HOURS } from '../../core/lockdown/machine.js';
import { selectiveSupported } from '../../core/lockdown/request-lockdown.js';
import { codeSafe, escapeMrkdwn, slackDate, truncateMrkdwn } from '../../core/mrkdwn.js';
import type { Permission } from '../../core/permissions.js';
import { COMMAND } from '../commands/hostlock.js';
import { ActionId, durationOptionValue, hostBlockId, SELECTIVE_SUFFIX } from '../ids.js';
import { clip, codeLiteral, escaped, mrkdwnLink, relativeTime } from './format.js';
import { hostWarnings, ISOLATION_WORDS, isolationText } from './host-status.js';

// Item caps keep every field far below its 2000-char limit, so the final truncation (which cannot
// tell a code span or a date token from plain text) is only a safety net and never cuts markup.
// (`format.ts` caps each code-literal item at 80 characters.)
const IPS_SHOWN = 5;
const TAGS_SHOWN = 10;
const LIST_ROWS = 10;
const EDIT: Permission = 'lockdown:edit';

const plain = (text: string): types.PlainTextElement => ({ type: 'plain_text', text, emoji: false });
const mrkdwn = (text: string, max: number): types.MrkdwnElement => ({
  type: 'mrkdwn',
  text: truncateMrkdwn(text, max),
});

/** Lock is offered only for a live, un-merged record that nobody has isolated or asked to isolate. */
export function canOfferLock(host: Host, lockdown: OpenLockdown | null): boolean {
  return (
    host.isolationState === 'not_isolated' && !lockdown && !host.mergedIntoMachineId && host.goneAt === null
  );
}

/** Unlock is offered only for hostlock's own lockdown; hosts isolated outside hostlock stay as they are. */
export function canOfferUnlock(host: Host, lockdown: OpenLockdown | null): lockdown is OpenLockdown {
  return lockdown !== null && (host.isolationState === 'isolated_by_hostlock' || lockdown.state === 'active');
}

const displayName = (host: Host): string => host.name.trim() || host.machineId;

function listOf(items: string[], shown: number): string {
  const head = items.slice(0, shown).map((i) => codeLiteral(i));
  const more = items.length > shown ? ` +${items.length - shown} more` : '';
  return items.length === 0 ? '—' : `${head.join(', ')}${more}`;
}

/** A confirm dialog in plain text, so a host name cannot format or mention anything in it. */
const confirm = (title: string, text: string, ok: string): types.ConfirmationDialog => ({
  title: plain(title),
  text: plain(clip(text, 300)),
  confirm: plain(ok),
  deny: plain('Cancel'),
  style: 'danger',
});

function actionsFor(
  host: Host,
  lockdown: OpenLockdown | null,
  permissions: ReadonlySet<Permission>,
  containment: boolean,
) {
  const name = clip(displayName(host), 120);
  const elements: types.ActionsBlockElement[] = [];
  // Refresh re-reads the machine from Defender (issue #15, item 11), within the viewer's lookup quota
  const refresh: types.Button = {
    type: 'button',
    action_id: ActionId.hostRefresh,
    text: plain('Refresh'),
    value: host.machineId,
  };
  if (!permissions.has(EDIT)) {
    return [refresh];
  }
  if (containment && canOfferLock(host, lockdown)) {
    elements.push({
      type: 'static_select',
      action_id: ActionId.hostLock,
      placeholder: plain('Lock for…'),
      // Full or Selective per request (issue #15, item 10); Selective only where Defender has it
      option_groups: [
        {
          label: plain('Full isolation'),
          options: LOCKDOWN_DURATIONS_HOURS.map((h) => ({
            text: plain(h === 1 ? '1 hour' : `${h} hours`),
            value: durationOptionValue(h),
          })),
        },
        ...(selectiveSupported(host)
          ? [
              {
                label: plain('Selective (Outlook, Teams still work)'),
                options: LOCKDOWN_DURATIONS_HOURS.map((h) => ({
                  text: plain(h === 1 ? '1 hour, selective' : `${h} hours, selective`),
                  value: `${durationOptionValue(h)}${SELECTIVE_SUFFIX}`,
                })),
              },
            ]
          : []),
      ],
      confirm: confirm(
        'Isolate this host?',
        `Defender will cut ${name} (${host.machineId}) off the network for the time chosen.`,
        'Lock',
      ),
    });
  } else if (canOfferUnlock(host, lockdown)) {
    elements.push({
      type: 'button',
      action_id: ActionId.lockdownUnlock,
      text: plain('Unlock'),
      value: lockdown.id,
      style: 'danger',
      confirm: confirm(
        'Release isolation?',
        `Defender will reconnect ${name} (${host.machineId}) to the network now.`,
        'Unlock',
      ),
    });
  }
  return [...elements, refresh];
}

/** What `hostCard` renders. */
export interface HostCardInput {
  host: Host;
  lockdown: OpenLockdown | null;
  /** the viewer's permissions: they decide which controls appear (handlers check again on click) */
  permissions: ReadonlySet<Permission>;
  now: Date;
  /** the machine's page in the Defender portal */
  portalUrl: string;
  /** shown for a requester that is not a Slack user (Slack users render as mentions) */
  lockedByName?: string;
  /** the exclusion list's view of the host: pinned (exempt), or matching a rule by name only */
  exclusion?: Exclusion;
  /** containment is on (not lookup-only mode): without it no Lock control is offered */
  containment?: boolean;
}

/**
 * One host as a card: facts, isolation, warnings, and the Lock select or Unlock button the viewer
 * may use (in an actions block whose `block_id` is `host:<machineId>`). Every Defender or user
 * string is escaped and every text is kept within Block Kit's limits.
 */
export function hostCard(input: HostCardInput): types.KnownBlock[] {
  const { host, lockdown, permissions, now, portalUrl } = input;
  const os = [host.osPlatform, host.osVersion].filter(Boolean).join(' ') || null;
  const lastSeen = host.lastSeen
    ? `${relativeTime(host.lastSeen, now)} (${slackDate(host.lastSeen)})`
    : 'never';
  const field = (label: string, value: string) => mrkdwn(`*${label}*\n${value}`, 2000);
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain(clip(displayName(host), 150)) },
    { type: 'section', text: mrkdwn(isolationText(host, lockdown, now, input.lockedByName), 3000) },
    {
      type: 'section',
      fields: [
        field('Machine id', codeLiteral(host.machineId)),
        field('OS', escaped(os)),
        field('IP addresses', listOf(host.ips, IPS_SHOWN)),
        field('Last seen', lastSeen),
        field('Health', escaped(host.healthStatus)),
        field('Risk', escaped(host.riskScore)),
        field('Exposure', escaped(host.exposureLevel)),
        field('Device value', escaped(host.deviceValue)),
        field('Tags', listOf(host.tags, TAGS_SHOWN)),
      ],
    },
  ];
  const warnings = hostWarnings(host, now);
  if (input.exclusion?.exempt) {
    warnings.push({
      short: 'excluded',
      long: `On the exclusion list (rule \`${codeSafe(input.exclusion.pin.rule)}\`): never locked automatically.`,
    });
  } else if (input.exclusion?.nameOnly) {
    warnings.push({
      short: 'matches an exclusion by name only',
      long: `Matches exclusion rule \`${codeSafe(input.exclusion.nameOnly)}\` by name or tag only, which the device can set: it was not on the list when the list was saved, so it is *not* exempt. Renamed?`,
    });
  }
  if (warnings.length > 0) {
    // One element: a context block lays several elements side by side, which reads poorly.
    const lines = warnings.map((w) => `⚠️ ${w.long}`);
    blocks.push({ type: 'context', elements: [mrkdwn(lines.join('\n'), 3000)] });
  }
  const portal = mrkdwnLink(portalUrl, 'Open in the Defender portal');
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`${portal} · synced ${relativeTime(host.syncedAt, now)}`, 3000)],
  });
  const elements = actionsFor(host, lockdown, permissions, input.containment ?? true);
  if (elements.length > 0) {
    blocks.push({ type: 'actions', block_id: hostBlockId(host.machineId), elements });
  }
  return blocks;
}

/** Short escaped fallback `text` for notifications and screen readers: "web-01 — isolated by hostlock". */
export function hostCardText(host: Host): string {
  return `${truncateMrkdwn(escapeMrkdwn(displayName(host)), 150)} — ${ISOLATION_WORDS[host.isolationState]}`;
}

/** What `hostList` renders: the first matches, how many there are in all, and what was searched. */
export interface HostListInput {
  hosts: Host[];
  total: number;
  query: string;
  now: Date;
  /** mrkdwn in place of "N hosts match …" (e.g. the devices Defender saw with an IP then) */
  heading?: string;
}

/**
 * Several matches for one query: one compact row each (at most 10), "and N more", and how to pick
 * one by machine id. Rows flag twins (duplicate, stale, merged) since that is why lists happen.
 */
export function hostList(input: HostListInput): types.KnownBlock[] {
  const { hosts, query, now } = input;
  const total = Math.max(input.total, hosts.length);
  const shown = hosts.slice(0, LIST_ROWS);
  const blocks: types.KnownBlock[] = [
    {
      type: 'section',
      text: mrkdwn(
        input.heading ??
          `*${total} hosts match* ${codeLiteral(query, 100)}. To pick one, use its machine id: ` +
            `\`${COMMAND} lookup &lt;machine id&gt;\``,
        3000,
      ),
    },
  ];
  for (const host of shown) {
    const facts = [
      escaped([host.osPlatform, host.osVersion].filter(Boolean).join(' ') || null, 100),
      listOf(host.ips, 3),
      ISOLATION_WORDS[host.isolationState],
      host.lastSeen ? `last seen ${relativeTime(host.lastSeen, now)}` : 'never seen',
    ];
    const flags = hostWarnings(host, now).map((w) => w.short);
    const flagLine = flags.length > 0 ? `\n⚠️ ${flags.join(' · ')}` : '';
    const text = `${codeLiteral(displayName(host))} · ${codeLiteral(host.machineId)}\n${facts.join(' · ')}${flagLine}`;
    blocks.push({ type: 'section', text: mrkdwn(text, 3000) });
  }
  if (total > shown.length) {
    const more = total - shown.length;
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`…and ${more} more: narrow the search or use a machine id.`, 3000)],
    });
  }
  return blocks;
}

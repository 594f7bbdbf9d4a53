import type { types } from '@slack/bolt';
import { publicErrorText } from '../../core/errors.js';
import type { LeftOut } from '../../core/lockdown/request-lockdowns.js';
import type { Lockdown } from '../../core/lockdown/types.js';
import { codeSafe, escapeMrkdwn, ticketText, truncateMrkdwn, who } from '../../core/mrkdwn.js';
import { ActionId, requestBlockId } from '../ids.js';
import { hostsText, leftOutLines } from '../lockdown-replies.js';
import { actionButton, throughText } from './format.js';

// The one root message of a request of several hosts (issue #18, item 2): every host with its own
// state, one Approve / Deny for all of them, and the thread its lockdowns share.

const HOSTS_PER_SECTION = 10;
const time = (d: Date | null) =>
  d ? `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} {time}|${d.toISOString()}>` : '—';
const name = (l: Pick<Lockdown, 'hostName' | 'machineId'>) =>
  `\`${truncateMrkdwn(codeSafe(l.hostName || l.machineId), 80)}\``;

/** One host's line: its state in words, with the end or the failure when there is one. */
function hostLine(l: Lockdown): string {
  const words: Record<string, string> = {
    pending_approval: ':hourglass: awaiting approval',
    approved: ':white_check_mark: approved, isolating…',
    denied: ':no_entry: denied',
    approval_expired: ':alarm_clock: expired',
    isolating: l.releasedBy ? ':octagonal_sign: stopping…' : ':lock: isolating…',
    active: `:lock: isolated, ends ${time(l.expiresAt)}`,
    releasing: ':unlock: releasing…',
    released: ':unlock: released',
    released_externally: ':warning: released outside hostlock',
    failed: `:x: failed${l.lastError ? `: ${truncateMrkdwn(escapeMrkdwn(publicErrorText(l.lastError)), 200)}` : ''}`,
    withdrawn: ':leftwards_arrow_with_hook: withdrawn',
    cancelled: ':octagonal_sign: stopped before isolation',
  };
  return `• ${name(l)} — ${words[l.state] ?? l.state}`;
}

/** The request's headline: the state all its hosts share, else how many are where. */
function headline(rows: Lockdown[]): string {
  const first = rows[0];
  const n = rows.length;
  const hours = first ? `${first.durationMinutes / 60} h` : '';
  if (rows.some((r) => r.state === 'pending_approval')) {
    return `*:hourglass: Awaiting approval* — lock ${hostsText(n)} for ${hours}`;
  }
  const same = rows.every((r) => r.state === first?.state) ? first?.state : null;
  const ended: Record<string, string> = {
    denied: ':no_entry: Denied',
    approval_expired: ':alarm_clock: Request expired (nobody decided in time)',
    withdrawn: ':leftwards_arrow_with_hook: Withdrawn',
    released: ':unlock: Released',
  };
  const words = (same && ended[same]) ?? ':lock: Lockdown';
  return `*${words}* — ${hostsText(n)} for ${hours}`;
}

/**
 * The root message of a request of several hosts: every host's state, Approve / Deny while pending
 * (no Approve in lookup-only mode, `containment` false).
 */
export function requestRootBlocks(rows: Lockdown[], o: { containment?: boolean } = {}): types.KnownBlock[] {
  const first = rows[0];
  if (!first?.requestId) {
    return [];
  }
  const decided = rows.find((r) => r.approvedBy);
  const lines = [
    headline(rows),
    `Requested by ${who(first.requestedBy)}${throughText(first.requestedVia)}${decided?.approvedBy ? ` · ${decided.state === 'denied' ? 'denied' : 'approved'} by ${who(decided.approvedBy)}` : ''}`,
    `Reason: ${first.reason ? truncateMrkdwn(escapeMrkdwn(first.reason.replace(/[\r\n\u2028\u2029]+/g, ' ')), 500) : '_no reason given_'}`,
    ...(first.ticket ? [`Ticket: ${ticketText(first.ticket, first.ticketUrl)}`] : []),
  ];
  const blocks: types.KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }];
  for (let i = 0; i < rows.length; i += HOSTS_PER_SECTION) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: rows
          .slice(i, i + HOSTS_PER_SECTION)
          .map(hostLine)
          .join('\n'),
      },
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Request \`${first.requestId}\` · ${hostsText(rows.length)}, one lockdown each · hosts left out are named in the thread`,
      },
    ],
  });
  const button = (actionId: string, text: string, style?: 'primary' | 'danger') =>
    actionButton(actionId, text, first.requestId ?? '', style);
  const pending = rows.filter((r) => r.state === 'pending_approval').length;
  const running = rows.some((r) => ['approved', 'isolating', 'active'].includes(r.state) && !r.releasedBy);
  // Plain buttons, no confirm dialog: approval must work from Slack's mobile apps.
  const row = pending
    ? [
        ...(o.containment === false
          ? []
          : [
              button(
                ActionId.lockdownApprove,
                pending === 1 ? 'Approve' : `Approve all ${pending}`,
                'primary',
              ),
            ]),
        button(ActionId.lockdownDeny, 'Deny', 'danger'),
        button(ActionId.lockdownUnlock, 'Withdraw all'),
      ]
    : running
      ? [button(ActionId.lockdownUnlock, 'Stop / unlock all')]
      : [];
  if (row.length) {
    blocks.push({ type: 'actions', block_id: requestBlockId(first.requestId), elements: row });
  }
  return blocks;
}

/** Fallback / notification text of a request's root message. */
export function requestRootText(rows: Lockdown[]): string {
  return headline(rows)
    .replace(/\*/g, '')
    .replace(/:[a-z_]+: /, '');
}

/** The thread reply naming the hosts a request left out, and why, one line each. */
export function leftOutText(leftOut: LeftOut[]): string {
  return `Not in this request (nothing was done to them):\n${leftOutLines(leftOut, 40)}`;
}

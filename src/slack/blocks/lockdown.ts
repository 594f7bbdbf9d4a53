import type { types } from '@slack/bolt';
import { publicErrorText } from '../../core/errors.js';
import type { EventName, ThreadNote } from '../../core/events.js';
import { parseLeftOut } from '../../core/lockdown/request-lockdowns.js';
import type { Lockdown } from '../../core/lockdown/types.js';
import { codeSafe, escapeMrkdwn, ticketText, truncateMrkdwn, who } from '../../core/mrkdwn.js';
import { ActionId, DURATION_VALUES, lockdownBlockId } from '../ids.js';
import { actionButton, throughText } from './format.js';
import { leftOutText } from './request.js';

/** `slack:U123` → a mention; other actors (api tokens, the system) as code. */
const hours = (minutes: number) => `${minutes / 60} h`;
const host = (l: Lockdown) => `\`${truncateMrkdwn(codeSafe(l.hostName || l.machineId), 120)}\``;
/** The reason on one line: a reason with line breaks (the REST API allows them) cannot fake lines. */
const reason = (l: Lockdown) =>
  l.reason
    ? truncateMrkdwn(escapeMrkdwn(l.reason.replace(/[\r\n\u2028\u2029]+/g, ' ')), 500)
    : '_no reason given_';
const time = (d: Date | null) =>
  d ? `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} {time}|${d.toISOString()}>` : '—';

/** The requester, and the approver when someone else approved: who must hear of trouble. */
const people = (l: Lockdown) =>
  l.approvedBy && l.approvedBy !== l.requestedBy
    ? `${who(l.requestedBy)} and ${who(l.approvedBy)}`
    : who(l.requestedBy);

const STATE_WORDS: Record<string, string> = {
  pending_approval: ':hourglass: Awaiting approval',
  approved: ':white_check_mark: Approved, isolating…',
  denied: ':no_entry: Denied',
  approval_expired: ':alarm_clock: Request expired (nobody decided in time)',
  isolating: ':lock: Isolating…',
  active: ':lock: Locked down',
  releasing: ':unlock: Releasing…',
  released: ':unlock: Released',
  released_externally: ':warning: Released outside hostlock',
  failed: ':x: Failed',
  withdrawn: ':leftwards_arrow_with_hook: Withdrawn by the requester',
  cancelled: ':octagonal_sign: Cancelled before isolation',
};

/**
 * The root message of a lockdown's thread: its current state, with Approve / Deny while pending
 * (no Approve in lookup-only mode, `containment` false: a click would only be refused).
 */
export function lockdownRootBlocks(l: Lockdown, o: { containment?: boolean } = {}): types.KnownBlock[] {
  const lines = [
    `*${STATE_WORDS[l.state] ?? l.state}* — ${host(l)} for ${hours(l.durationMinutes)}`,
    `Requested by ${who(l.requestedBy)}${throughText(l.requestedVia)}${l.approvedBy ? ` · ${l.state === 'denied' ? 'denied' : 'approved'} by ${who(l.approvedBy)}` : ''}`,
    `Reason: ${reason(l)}`,
  ];
  if (l.ticket) {
    lines.push(`Ticket: ${ticketText(l.ticket, l.ticketUrl)}`);
  }
  if (l.state === 'active' && l.expiresAt) {
    lines.push(`Locked ${time(l.lockedAt)} · ends ${time(l.expiresAt)}`);
  }
  if (l.state === 'failed' && l.lastError) {
    lines.push(`Why: ${truncateMrkdwn(escapeMrkdwn(publicErrorText(l.lastError)), 500)}`);
  }
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Lockdown \`${l.id}\` · machine \`${codeSafe(l.machineId)}\`` }],
    },
  ];
  const button = (actionId: string, text: string, style?: 'primary' | 'danger') =>
    actionButton(actionId, text, l.id, style);
  // Every open state has a way out (issue #15, item 1); Unlock's id is the same in each, the
  // verb decides what it means now: withdraw a request, stop an isolation, release a host.
  const buttons: Record<string, types.Button[]> = {
    // Plain buttons, no confirm dialog: approval must work from Slack's mobile apps.
    pending_approval: [
      ...(o.containment === false ? [] : [button(ActionId.lockdownApprove, 'Approve', 'primary')]),
      button(ActionId.lockdownDeny, 'Deny', 'danger'),
      button(ActionId.lockdownUnlock, 'Withdraw'),
    ],
    approved: [button(ActionId.lockdownUnlock, 'Stop')],
    isolating: l.releasedBy ? [] : [button(ActionId.lockdownUnlock, 'Stop')],
    active: [button(ActionId.lockdownUnlock, 'Unlock now')],
  };
  const row = buttons[l.state];
  if (row?.length) {
    blocks.push({ type: 'actions', block_id: lockdownBlockId(l.id), elements: row });
  }
  return blocks;
}

/** Fallback / notification text of the root message. */
export function lockdownRootText(l: Lockdown): string {
  return `${(STATE_WORDS[l.state] ?? l.state).replace(/^:[a-z_]+: /, '')}: ${host(l)} for ${hours(l.durationMinutes)}`;
}

/** The thread reply for an event of a lockdown. */
export function eventText(name: EventName | ThreadNote, l: Lockdown, detail?: string): string {
  const extra = detail ? ` (${truncateMrkdwn(escapeMrkdwn(publicErrorText(detail)), 300)})` : '';
  if (l.requestId) {
    const many = requestEventText(name, l, extra);
    if (many) {
      return many;
    }
  }
  if (name === 'hosts_left_out') {
    return leftOutText(parseLeftOut(detail));
  }
  switch (name) {
    case 'lockdown.requested':
      return `${who(l.requestedBy)} asked to lock ${host(l)} for ${hours(l.durationMinutes)}.`;
    case 'lockdown.approved':
      return l.approvedBy
        ? `Approved by ${who(l.approvedBy)}. Isolating through Defender…`
        : `Approved${extra}. Isolating through Defender…`;
    case 'lockdown.denied':
      return `Denied by ${who(l.approvedBy)}. ${who(l.requestedBy)}, nothing was changed.`;
    case 'lockdown.approval_expired':
      return `Nobody decided in time, so the request expired. ${who(l.requestedBy)}, nothing was changed; request again if it is still needed.`;
    case 'lockdown.locked':
      return `${host(l)} is isolated. It will be released ${time(l.expiresAt)}.`;
    case 'lockdown.stuck':
      return l.state === 'releasing'
        ? `:hourglass_flowing_sand: ${people(l)}: Defender still has the release of ${host(l)} pending${extra}: the device may be offline, and it stays isolated until Defender reaches it. Check it in Defender.`
        : `:hourglass_flowing_sand: ${people(l)}: Defender still has the isolation of ${host(l)} pending${extra}: the device may be offline. Defender keeps trying for up to 3 days; hostlock cancels it if the lockdown time runs out first.`;
    case 'ending_soon':
      return `${who(l.requestedBy)}, the lockdown of ${host(l)} ends ${time(l.expiresAt)}. Extend it below if it is still needed.`;
    case 'lockdown.extended':
      return `Extended${extra}: now ends ${time(l.expiresAt)}.`;
    case 'lockdown.released':
      return `${host(l)} is released (${l.releaseReason === 'expired' ? 'time ran out' : `by ${who(l.releasedBy)}`}).`;
    case 'host.released_externally':
      return `${host(l)} was ${detail ?? 'released outside hostlock'}; hostlock closed this lockdown and will not touch the host.`;
    case 'lockdown.failed':
      return `:x: The lockdown of ${host(l)} failed${extra}. ${people(l)}, check the host in Defender.`;
    case 'lockdown.withdrawn':
      return `:leftwards_arrow_with_hook: ${who(l.releasedBy ?? l.requestedBy)} withdrew the request to lock ${host(l)}; nothing was sent to Defender.`;
    case 'lockdown.cancelled':
      return `:octagonal_sign: ${who(l.releasedBy ?? 'system:hostlock')} stopped the lockdown of ${host(l)} before Defender isolated it${extra}; the host was not isolated by hostlock.`;
    case 'break_glass':
      return `:rotating_light: Break-glass: ${who(l.requestedBy)} overrode the exclusion list to lock ${host(l)}.`;
    default:
      return `${name}${extra}`;
  }
}

/**
 * The thread reply for what happens to a whole request of several hosts at once (one decision,
 * one expiry, issue #18, item 2), and for the events whose one-host wording would not say which
 * host of the thread they are about; null for the rest, which name their host already.
 */
function requestEventText(name: EventName | ThreadNote, l: Lockdown, extra: string): string | null {
  switch (name) {
    case 'lockdown.approved':
      return l.approvedBy
        ? `Approved by ${who(l.approvedBy)}. Isolating each host through Defender; each one's outcome follows here.`
        : `Approved${extra}. Isolating each host through Defender; each one's outcome follows here.`;
    case 'lockdown.denied':
      return `Denied by ${who(l.approvedBy)}. ${who(l.requestedBy)}, nothing was changed on any host.`;
    case 'lockdown.approval_expired':
      return `Nobody decided in time, so the request expired for every host still waiting. ${who(l.requestedBy)}, nothing was changed; request again if it is still needed.`;
    case 'lockdown.extended':
      return `${host(l)} extended${extra}: now ends ${time(l.expiresAt)}.`;
    case 'break_glass':
      return `:rotating_light: Break-glass: ${who(l.requestedBy)} overrode the exclusion list for this request.`;
    default:
      return null;
  }
}

/** The Extend control posted with the reminder. */
export function extendBlocks(l: Lockdown, text: string): types.KnownBlock[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      block_id: lockdownBlockId(l.id),
      elements: [
        {
          type: 'static_select',
          action_id: ActionId.lockdownExtend,
          placeholder: { type: 'plain_text', text: 'Extend by…' },
          options: DURATION_VALUES.map((v) => ({ text: { type: 'plain_text', text: `+${v}` }, value: v })),
        },
      ],
    },
  ];
}

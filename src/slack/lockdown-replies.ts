import type { ConfirmRefusal } from '../core/lockdown/confirm-lockdown.js';
import type { DecisionRefusal } from '../core/lockdown/decide-lockdown.js';
import type { ExtendRefusal } from '../core/lockdown/extend-lockdown.js';
import type { ReleaseRefusal } from '../core/lockdown/release-lockdown.js';
import type { RequestRefusal, RequestResult } from '../core/lockdown/request-lockdown.js';
import {
  type HostRefusal,
  type LeftOut,
  leftOutOf,
  type RequestsResult,
} from '../core/lockdown/request-lockdowns.js';
import type { Lockdown } from '../core/lockdown/types.js';
import { codeSafe, truncateMrkdwn, who } from '../core/mrkdwn.js';
import { HOSTS_PER_REQUEST_MAX } from '../core/settings/settings.js';
import { DURATION_VALUES } from './ids.js';

// One mapping table per adapter (STYLE "Errors"): each refusal becomes a sentence saying what to do.

/** Lookup-only mode (issue #18, item 6), in the words every refused verb shares. */
const LOOKUP_ONLY =
  "Containment is off in hostlock's settings (lookup-only mode): hosts can be looked up but not locked, approved or extended. An admin can turn it on in `/hostlock settings`.";

const state = (l?: Lockdown) => (l ? ` (lockdown \`${l.id}\` is ${l.state.replace(/_/g, ' ')})` : '');

export function requestRefusal(r: Extract<RequestResult, { ok: false }>): string {
  const map: Record<RequestRefusal, string> = {
    forbidden: 'You need the `lockdown:edit` permission to lock hosts. Ask a hostlock admin for a role.',
    containment_disabled: LOOKUP_ONLY,
    bad_duration: `Choose one of the preset durations: ${DURATION_VALUES.join(', ')}. Example: \`/hostlock lock web-01 4h suspicious beacon\`.`,
    defender_not_configured:
      'Defender is not configured yet: an admin must enter its credentials first (`/hostlock settings`).',
    defender_paused: 'Defender is paused by an admin, so nothing can be locked right now.',
    defender_failed: 'Defender could not be asked just now (it has been logged). Try again in a minute.',
    not_found:
      'No host matches that. Try a full name, an IP or a machine id, e.g. `/hostlock lock web-01.contoso.com 4h`.',
    ambiguous: `Several hosts match: name one by its machine id.\n${(r.candidates ?? [])
      .slice(0, 10)
      .map((h) => `• \`${truncateMrkdwn(codeSafe(h.name), 80)}\` — \`${h.machineId}\``)
      .join('\n')}`,
    already_open: `That host already has an open lockdown${state(r.existing)}${r.existing ? ` requested by ${who(r.existing.requestedBy)}` : ''}.`,
    isolated_outside:
      'That host is isolated outside hostlock (Defender portal or another tool). hostlock will not take over or release it.',
    not_onboarded: 'That device is not onboarded to Defender, so Defender cannot isolate it.',
    merged:
      'That record was merged into another machine or is no longer listed by Defender: look the host up and use the current machine id.',
    excluded:
      'That host is on the exclusion list. An admin can override with `--break-glass` (audited and announced).',
    break_glass_forbidden: 'Only admins (`settings:edit`) may use `--break-glass`.',
    no_approver_channel:
      'Approval is required, but no approver channel is set, so nobody could approve this: an admin must pick one in `/hostlock settings`.',
    selective_unsupported:
      'Defender does not support selective isolation on this host’s OS (only Windows and macOS): lock it without `--selective` (full isolation).',
    capped: 'The hourly cap of automatic lockdowns is reached.',
    inexact:
      'No host is named exactly that (only one whose name begins with it): name it in full, by IP address or by machine id.',
  };
  return map[r.error];
}

/** `1 host`, `3 hosts` */
export const hostsText = (n: number): string => `${n} host${n === 1 ? '' : 's'}`;

/** Why one host of a request of several was left out, in a few words (issue #18, item 2). */
export const hostLeftOutWords: Record<HostRefusal, string> = {
  defender_not_configured: 'Defender is not configured',
  defender_paused: 'Defender is paused',
  defender_failed:
    'Defender could not be asked just now (or your lookups are used up for a minute): ask again',
  not_found: 'no host matches that',
  ambiguous: 'several hosts match: name it by its machine id',
  already_open: 'already has an open lockdown',
  isolated_outside: 'isolated outside hostlock: hostlock will not take it over or release it',
  not_onboarded: 'not onboarded to Defender',
  merged: 'merged into another machine, or no longer listed by Defender',
  excluded: 'on the exclusion list (an admin can override with `--break-glass`)',
  selective_unsupported: 'its OS does not support selective isolation: lock it with `--full`',
  duplicate: 'named twice (once is enough)',
  inexact: 'no host is named exactly that (one only begins with it): name it in full',
};

/** The answer to a request of several hosts that locked none: why, for each host. */
export function requestsRefusal(r: Extract<RequestsResult, { ok: false }>): string {
  if (r.error === 'too_many_hosts') {
    return `That names more hosts than one request may (${r.limit ?? '?'} at most; admins up to ${HOSTS_PER_REQUEST_MAX}): split it into several requests.`;
  }
  if (r.error === 'nothing_to_lock') {
    return `None of those hosts can be locked:\n${leftOutLines(leftOutOf(r.refused ?? []))}`;
  }
  return requestRefusal({ ...r, error: r.error });
}

/** Each left-out host on its own line — the name asked for, the host it named, why — at most `max`, the rest counted. */
export function leftOutLines(leftOut: LeftOut[], max = 20): string {
  const code = (t: string) => `\`${truncateMrkdwn(codeSafe(t), 80)}\``;
  const lines = leftOut
    .slice(0, max)
    .map(
      (h) =>
        `• ${code(h.query)}${h.host && h.host !== h.query ? ` (${code(h.host)})` : ''} — ${hostLeftOutWords[h.error] ?? h.error}`,
    );
  return `${lines.join('\n')}${leftOut.length > max ? `\n…and ${leftOut.length - max} more` : ''}`;
}

/** What the requester is told of a request of several hosts: where it waits, who is in it, who is not. */
export function requestsAnswer(r: RequestsResult, hours: number): string {
  if (!r.ok) {
    return requestsRefusal(r);
  }
  const { requestId, lockdowns, refused } = r.value;
  const first = lockdowns[0];
  const kind = first?.isolationType === 'Selective' ? ' (selective isolation)' : '';
  const names = lockdowns
    .slice(0, 20)
    .map((l) => `\`${truncateMrkdwn(codeSafe(l.hostName), 80)}\``)
    .join(', ');
  const more = lockdowns.length > 20 ? ` and ${lockdowns.length - 20} more` : '';
  const said =
    first?.state === 'pending_approval'
      ? `Request \`${requestId}\` to lock ${hostsText(lockdowns.length)} for ${hours} h${kind} is waiting for approval${first.approvalChannel ? ` in <#${first.approvalChannel}>` : ''}: ${names}${more}.`
      : `Request \`${requestId}\` to lock ${hostsText(lockdowns.length)} for ${hours} h${kind} is approved; isolating each through Defender: ${names}${more}.`;
  const left = refused.length ? [`Left out:\n${leftOutLines(leftOutOf(refused))}`] : [];
  const notes = [...new Set(r.value.isolationNotes), r.value.postProblem].filter(Boolean);
  return [said, ...left, ...notes.map((n) => `:warning: ${n}`)].join('\n');
}

export function confirmRefusal(code: ConfirmRefusal, current?: Lockdown): string {
  const map: Record<ConfirmRefusal, string> = {
    not_found: 'That lockdown request no longer exists.',
    forbidden: 'You need the `lockdown:edit` permission to confirm lockdown requests.',
    not_requester: 'Only the person the request was made for can confirm it.',
    not_awaiting: `That request is not waiting for a confirmation${state(current)}.`,
    expired:
      'That request expired before you confirmed it; nothing was changed. Run the workflow again if it is still needed.',
  };
  return map[code];
}

export function decisionRefusal(code: DecisionRefusal, current?: Lockdown): string {
  const map: Record<DecisionRefusal, string> = {
    not_found: 'That lockdown request no longer exists.',
    forbidden: 'You need the `lockdown:approve` permission to decide lockdown requests.',
    self_approval: 'You cannot approve or deny your own request: another responder must decide it.',
    not_pending: `That request was already decided${state(current)}${current?.approvedBy ? ` by ${who(current.approvedBy)}` : ''}.`,
    expired: 'That request expired before it was decided; nothing was changed.',
    containment_disabled: `${LOOKUP_ONLY} The request stays open: it can still be denied, withdrawn or left to expire.`,
    unconfirmed:
      'The person this request was made for (by a workflow) has not confirmed it yet: it cannot be decided until they do.',
  };
  return map[code];
}

export function releaseRefusal(code: ReleaseRefusal, current?: Lockdown): string {
  const map: Record<ReleaseRefusal, string> = {
    forbidden: 'You need the `lockdown:edit` permission to unlock hosts.',
    not_found: 'That lockdown no longer exists.',
    not_open: `That lockdown has already ended${state(current)}; there is nothing to unlock.`,
    already_releasing: `That lockdown is already being stopped${state(current)}; its thread says when it is done.`,
  };
  return map[code];
}

/** What `unlock` did, by the state it left the lockdown in (issue #15, item 1). */
export function unlockAnswer(l: Lockdown): string {
  const host = `\`${codeSafe(l.hostName || l.machineId)}\``;
  switch (l.state) {
    case 'withdrawn':
      return `Withdrew the request to lock ${host} (lockdown \`${l.id}\`); nothing was sent to Defender.`;
    case 'cancelled':
      return `Cancelled lockdown \`${l.id}\` of ${host} before anything was sent to Defender.`;
    case 'approved':
    case 'isolating':
      return `Stopping lockdown \`${l.id}\` of ${host}: Defender is asked now; an isolation that has not finished is cancelled, one that has is released at once.`;
    default:
      return `Releasing ${host} (lockdown \`${l.id}\`)…`;
  }
}

export function extendRefusal(code: ExtendRefusal, current?: Lockdown): string {
  const map: Record<ExtendRefusal, string> = {
    forbidden: 'You need the `lockdown:edit` permission to extend lockdowns.',
    not_found: 'That lockdown no longer exists.',
    not_active: `Only an active lockdown can be extended${state(current)}.`,
    bad_duration: `Extend by one of: ${DURATION_VALUES.join(', ')}.`,
    too_long: 'Extensions may add at most 24 h beyond the original end; an admin can extend further.',
    containment_disabled: `${LOOKUP_ONLY} The lockdown still ends on time.`,
  };
  return map[code];
}

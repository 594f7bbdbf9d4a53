import type { types } from '@slack/bolt';
import type { AutoTrigger } from '../../core/lockdown/types.js';
import { codeSafe, escapeMrkdwn, slackDate, truncateMrkdwn } from '../../core/mrkdwn.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** The default cap on one code-literal item (see the item caps in `host-card.ts`). */
const ITEM_MAX = 80;

/** Cuts plain text to `max` UTF-16 units with an ellipsis, never leaving half a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) {
    cut = cut.slice(0, -1);
  }
  return `${cut}…`;
}

/**
 * Untrusted text (host names, tags, ids, IPs) as a code span: Slack applies no `*bold*` or `_italic_`
 * inside one, so the value renders literally and copies back exactly (backticks become `'`).
 */
export function codeLiteral(text: string, max = ITEM_MAX): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat === '' ? '—' : `\`${truncateMrkdwn(codeSafe(flat), max)}\``;
}

/** Untrusted text escaped and cut to `max`, or `—` when there is none. */
export const escaped = (text: string | null, max = 200): string =>
  text ? truncateMrkdwn(escapeMrkdwn(text), max) : '—';

export { mrkdwnLink } from '../../core/mrkdwn.js';

/** "just now", "59 s ago", "5 min ago", "3 h ago", "2 days ago"; future times (clock skew) read "just now". */
export function relativeTime(then: Date, now: Date): string {
  const ms = now.getTime() - then.getTime();
  if (ms < 1000) {
    return 'just now';
  }
  if (ms < MINUTE_MS) {
    return `${Math.floor(ms / 1000)} s ago`;
  }
  if (ms < HOUR_MS) {
    return `${Math.floor(ms / MINUTE_MS)} min ago`;
  }
  if (ms < DAY_MS) {
    return `${Math.floor(ms / HOUR_MS)} h ago`;
  }
  const days = Math.floor(ms / DAY_MS);
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** "3 h 12 min left", "45 min left", "under 1 min left", or "due for release" once past. */
export function timeLeft(expiresAt: Date, now: Date): string {
  const ms = expiresAt.getTime() - now.getTime();
  if (ms <= 0) {
    return 'due for release';
  }
  const minutes = Math.floor(ms / MINUTE_MS);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (minutes === 0) {
    return 'under 1 min left';
  }
  if (h === 0) {
    return `${m} min left`;
  }
  return m === 0 ? `${h} h left` : `${h} h ${m} min left`;
}

/**
 * `slack:U…` becomes a mention; any other actor (API token, automation) is shown as escaped text,
 * or as `displayName` when the caller resolved one.
 */
export function actorMrkdwn(actor: string, displayName?: string): string {
  const user = /^slack:([UW][A-Z0-9]{2,20})$/.exec(actor)?.[1];
  return user ? `<@${user}>` : escaped(displayName ?? actor, 100);
}

/** Why automation locked a host: the scores against their thresholds, and when they were computed. */
export function autoTriggerText(t: AutoTrigger): string {
  const computed = new Date(t.computedAt);
  return `:robot_face: automatic: threat ${t.threat} (≥ ${t.thresholds.threat}) · certainty ${t.certainty} (≥ ${t.thresholds.certainty}) · privilege ${t.privilege} (≥ ${t.thresholds.privilege})${Number.isNaN(computed.getTime()) ? '' : `, computed ${slackDate(computed)}`}`;
}

/**
 * What a request came through, when its requester did not type it: an API token, or a Workflow
 * Builder step (the person may only have clicked a workflow's button: approvers should know).
 */
export function throughText(via: string | null): string {
  if (!via) {
    return '';
  }
  return via.startsWith('workflow:')
    ? ` *through a Workflow Builder step* (\`${codeSafe(via)}\`), confirmed by the requester`
    : ` through API token \`${codeSafe(via)}\``;
}

/**
 * A plain button (no confirm dialog: approval must work from Slack's mobile apps) that carries
 * only an opaque id as its value; the handler re-reads everything else (DESIGN §3.3).
 */
export function actionButton(
  actionId: string,
  text: string,
  value: string,
  style?: 'primary' | 'danger',
): types.Button {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text },
    ...(style ? { style } : {}),
    value,
  };
}

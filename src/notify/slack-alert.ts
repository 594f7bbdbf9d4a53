import type { EventName, NotificationEvent } from '../core/events.js';
import { codeSafe, escapeMrkdwn, slackDate, ticketText, truncateMrkdwn, who } from '../core/mrkdwn.js';

/** Line breaks in a value would let it pose as another line of the message. */
const flatten = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ');
const flat = (s: string) => escapeMrkdwn(flatten(s));

const TITLE: Record<EventName, string> = {
  'lockdown.requested': ':hourglass: Lockdown requested',
  'lockdown.approved': ':white_check_mark: Lockdown approved',
  'lockdown.denied': ':no_entry: Lockdown denied',
  'lockdown.locked': ':lock: Host isolated',
  'lockdown.released': ':unlock: Host released',
  'lockdown.approval_expired': ':alarm_clock: Lockdown request expired',
  'lockdown.extended': ':stopwatch: Lockdown extended',
  'lockdown.failed': ':x: Lockdown failed',
  'lockdown.withdrawn': ':leftwards_arrow_with_hook: Lockdown request withdrawn',
  'lockdown.escalated': ':rotating_light: Lockdown request escalated',
  'lockdown.stuck': ':hourglass_flowing_sand: Defender action stuck',
  'lockdown.cancelled': ':octagonal_sign: Lockdown cancelled before isolation',
  'auto.suppressed': ':shield: Automatic lockdown held back',
  'host.isolated_externally': ':warning: Host isolated outside hostlock',
  'host.released_externally': ':warning: Host released outside hostlock',
  'settings.changed': ':gear: Settings changed',
};

/**
 * One compact alert-channel message per event (issue #7): what happened, to which host, by whom,
 * when, until when, why and how it ended. Every value from outside (host names, reasons, Slack
 * text, Defender errors) is escaped for mrkdwn and cut, so one event is one message.
 */
export function alertText(e: NotificationEvent): string {
  const l = e.lockdown;
  const parts = [`*${TITLE[e.name]}*`];
  if (e.host) {
    parts.push(`\`${truncateMrkdwn(codeSafe(flatten(e.host.name || e.host.machineId)), 120)}\``);
  }
  if (e.actor) {
    parts.push(`by ${who(e.actor)}`);
  }
  parts.push(`at ${slackDate(e.at)}`);
  if (l?.expiresAt && (l.state === 'active' || l.state === 'isolating' || e.name === 'lockdown.extended')) {
    parts.push(`until ${slackDate(l.expiresAt)}`);
  } else if (l && (e.name === 'lockdown.requested' || e.name === 'lockdown.approved')) {
    parts.push(`for ${l.durationMinutes / 60} h`);
  }
  const lines = [parts.join(' · ')];
  if (l?.reason) {
    lines.push(`Reason: ${truncateMrkdwn(flat(l.reason), 500)}`);
  }
  if (l?.ticket) {
    lines.push(`Ticket: ${ticketText(flatten(l.ticket), l.ticketUrl)}`);
  }
  if (e.detail) {
    lines.push(`${e.outcome === 'ok' ? 'Note' : 'Why'}: ${truncateMrkdwn(flat(e.detail), 500)}`);
  }
  const tail = [`outcome \`${e.outcome}\``];
  if (l) {
    tail.push(`lockdown \`${codeSafe(l.id)}\` (${codeSafe(l.source ?? 'manual')})`);
  }
  if (e.host) {
    tail.push(`machine \`${truncateMrkdwn(codeSafe(flatten(e.host.machineId)), 80)}\``);
  }
  tail.push(`event \`${codeSafe(e.id)}\``);
  lines.push(tail.join(' · '));
  return lines.join('\n');
}

import type { RespondArguments, types } from '@slack/bolt';
import { publicErrorText } from '../../core/errors.js';
import { parseHostQuery, type QueryProblem } from '../../core/hosts/parse-host-query.js';
import type { Host } from '../../core/hosts/types.js';
import type { LockdownState } from '../../core/lockdown/machine.js';
import type { Lockdown } from '../../core/lockdown/types.js';
import { codeSafe, escapeMrkdwn, slackDate, ticketText, truncateMrkdwn, who } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import { autoTriggerText, relativeTime, timeLeft } from '../blocks/format.js';
import { refuse, type SlackDeps } from '../deps.js';
import type { Subcommand } from './registry.js';

/** Shown rows; one more is read to know whether to say "and more". */
const OPEN_LIMIT = 50;
const HISTORY_LIMIT = 20;
const CANDIDATES = 10;
const SECTION_MAX = 3000;
const MAX_BLOCKS = 50;

const STATE_WORDS: Record<LockdownState, string> = {
  pending_approval: ':hourglass: awaiting approval',
  approved: ':white_check_mark: approved, isolating soon',
  denied: ':no_entry: denied',
  approval_expired: ':alarm_clock: request expired',
  isolating: ':lock: isolating',
  active: ':lock: locked down',
  releasing: ':unlock: releasing',
  released: ':unlock: released',
  released_externally: ':warning: released outside hostlock',
  failed: ':x: failed',
  withdrawn: ':leftwards_arrow_with_hook: withdrawn',
  cancelled: ':octagonal_sign: cancelled before isolation',
};

const EXAMPLE =
  '`/hostlock history web-01.contoso.com` or `/hostlock history &lt;40-character machine id&gt;`';
const PROBLEMS: Record<QueryProblem, string> = {
  empty: `Tell me which host: ${EXAMPLE}.`,
  too_long: `That is too long for a host name (at most 255 characters). Try ${EXAMPLE}.`,
  control_characters: `That contains control characters. Try ${EXAMPLE}.`,
  not_a_host: `That is not a host name, IP address or machine id. Try ${EXAMPLE}.`,
};

const ephemeral = (text: string, blocks?: types.KnownBlock[]): RespondArguments => ({
  response_type: 'ephemeral',
  text,
  ...(blocks ? { blocks } : {}),
});
const code = (text: string, max: number) => `\`${truncateMrkdwn(codeSafe(text), max)}\``;
/** `who()` with a bound: a non-Slack actor is shown whole as code, and rows are not ours to trust. */
const by = (actor: string | null) => who(actor && actor.length > 100 ? `${actor.slice(0, 99)}…` : actor);
const state = (s: string) => STATE_WORDS[s as LockdownState] ?? escapeMrkdwn(s.slice(0, 40));
const hours = (minutes: number) => (minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`);

/**
 * Lines packed into as few sections as Block Kit allows (text ≤ 3000 each, ≤ 50 blocks in all,
 * counting `lead` and a closing context); entries that do not fit are counted in "and N more",
 * and `note` closes the message.
 */
function pack(lead: string, entries: string[], note?: string): types.KnownBlock[] {
  const section = (text: string): types.KnownBlock => ({
    type: 'section',
    text: { type: 'mrkdwn', text: truncateMrkdwn(text, SECTION_MAX) },
  });
  const blocks: types.KnownBlock[] = [section(lead)];
  let current = '';
  let shown = 0;
  for (const entry of entries) {
    if (current && current.length + entry.length + 2 > SECTION_MAX) {
      if (blocks.length >= MAX_BLOCKS - 2) {
        break;
      }
      blocks.push(section(current));
      current = '';
    }
    current = current ? `${current}\n\n${entry}` : entry;
    shown += 1;
  }
  if (current) {
    blocks.push(section(current));
  }
  const hidden = entries.length - shown;
  const closing = [hidden > 0 ? `…and ${hidden} more not shown.` : '', note ?? ''].filter(Boolean).join(' ');
  if (closing) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: closing }] });
  }
  return blocks;
}

function openEntry(l: Lockdown, now: Date): string {
  const head = [`${code(l.hostName || l.machineId, 120)} — *${state(l.state)}*`];
  if (l.state === 'active' && l.expiresAt) {
    head.push(timeLeft(l.expiresAt, now));
  } else if (l.state === 'pending_approval') {
    head.push(`asked ${relativeTime(l.createdAt, now)}`);
  }
  const facts = [`for ${hours(l.durationMinutes)}`, `requested by ${by(l.requestedBy)}`];
  if (l.approvedBy) {
    facts.push(`approved by ${by(l.approvedBy)}`);
  }
  if (l.ticket) {
    facts.push(`ticket ${ticketText(l.ticket, l.ticketUrl)}`);
  }
  facts.push(`lockdown ${code(l.id, 60)}`);
  return [head.join(' · '), facts.join(' · '), ...(l.trigger ? [autoTriggerText(l.trigger)] : [])].join('\n');
}

function outsideEntry(h: Host): string {
  return `${code(h.name || h.machineId, 120)} — *:warning: isolated outside hostlock* (Defender portal or another tool)\nmachine ${code(h.machineId, 60)} · hostlock will not release it`;
}

/** `/hostlock list` (permission lockdown:view): open lockdowns and pending requests, oldest first. */
export function listSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'list',
    needs: 'lockdown:view',
    example: 'list',
    usage: 'list',
    summary: 'current lockdowns and pending requests',
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      if (!can(actor, 'lockdown:view')) {
        return { reply: ephemeral(await refuse(deps, actor, 'lockdown:view', 'list')) };
      }
      // hosts isolated outside hostlock are shown too, marked: hostlock never releases them
      const [rows, { hosts: outside }] = await Promise.all([
        deps.lockdown.lockdowns.listOpen(OPEN_LIMIT + 1),
        deps.hosts.isolated(OPEN_LIMIT, { source: 'outside' }),
      ]);
      if (rows.length === 0 && outside.length === 0) {
        return { reply: ephemeral('No open lockdowns, and no host is isolated outside hostlock.') };
      }
      const now = deps.clock.now();
      const shown = rows.slice(0, OPEN_LIMIT);
      const pending = shown.filter((l) => l.state === 'pending_approval').length;
      const summary = `${shown.length}${rows.length > OPEN_LIMIT ? '+' : ''} open lockdowns (${pending} awaiting approval)${
        outside.length
          ? ` · ${outside.length} host${outside.length === 1 ? '' : 's'} isolated outside hostlock`
          : ''
      }`;
      const note =
        rows.length > OPEN_LIMIT ? `Only the oldest ${OPEN_LIMIT} are listed; more are open.` : undefined;
      const blocks = pack(
        `*${summary}*`,
        [...shown.map((l) => openEntry(l, now)), ...outside.map(outsideEntry)],
        note,
      );
      return { reply: ephemeral(summary, blocks) };
    },
  };
}

function ending(l: Lockdown, now: Date): string {
  switch (l.state) {
    case 'released':
      if (l.releaseReason === 'expired') {
        return 'released when its time ran out';
      }
      if (l.releaseReason === 'external') {
        return 'released outside hostlock';
      }
      return `released early by ${by(l.releasedBy)}`;
    case 'released_externally':
      return 'released outside hostlock (Defender portal or another tool)';
    case 'denied':
      return `denied by ${by(l.approvedBy)}`;
    case 'approval_expired':
      return 'request expired: nobody decided in time';
    case 'failed':
      return `failed: ${l.lastError ? truncateMrkdwn(escapeMrkdwn(publicErrorText(l.lastError)), 300) : 'no error recorded'}`;
    case 'active':
      return l.expiresAt ? `still locked down, ${timeLeft(l.expiresAt, now)}` : 'still locked down';
    default:
      return `still open: ${state(l.state)}`;
  }
}

function historyEntry(l: Lockdown, now: Date): string {
  const head = [`*${slackDate(l.createdAt)}* — ${state(l.state)}`, `for ${hours(l.durationMinutes)}`];
  if (l.lockedAt && l.releasedAt) {
    head.push(
      `isolated ${hours(Math.max(0, Math.round((l.releasedAt.getTime() - l.lockedAt.getTime()) / 60_000)))}`,
    );
  }
  const people = [`requested by ${by(l.requestedBy)}`];
  if (l.approvedBy && l.state !== 'denied') {
    people.push(`approved by ${by(l.approvedBy)}`);
  }
  const reason = l.reason
    ? truncateMrkdwn(escapeMrkdwn(l.reason.replace(/\s+/g, ' ')), 200)
    : '_no reason given_';
  return [
    head.join(' · '),
    `${people.join(' · ')} · lockdown ${code(l.id, 60)}`,
    `Reason: ${reason}`,
    ...(l.ticket ? [`Ticket: ${ticketText(l.ticket, l.ticketUrl)}`] : []),
    ...(l.trigger ? [autoTriggerText(l.trigger)] : []),
    `Outcome: ${ending(l, now)}`,
  ].join('\n');
}

/** Which host a history is for: one usable record, or an exact name among several. */
function pick(hosts: Host[], value: string): Host | undefined {
  const usable = hosts.filter((h) => !h.mergedIntoMachineId);
  const exact = usable.filter((h) => {
    const name = h.name.toLowerCase();
    return name === value || name.split('.')[0] === value || h.machineId === value;
  });
  return usable.length === 1 ? usable[0] : exact.length === 1 ? exact[0] : undefined;
}

/**
 * `/hostlock history <host>` (permission lockdown:view): the host's lockdowns, newest first, with who
 * asked and decided, the reason, and how each ended.
 */
export function historySubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'history',
    needs: 'lockdown:view',
    example: 'history web-01.contoso.com',
    usage: 'history <name|ip|machine-id>',
    summary: "a host's past lockdowns: who, why, and how each ended",
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      if (!can(actor, 'lockdown:view')) {
        return { reply: ephemeral(await refuse(deps, actor, 'lockdown:view', 'history')) };
      }
      const parsed = parseHostQuery(ctx.rest);
      if (!parsed.ok) {
        return { reply: ephemeral(PROBLEMS[parsed.problem]) };
      }
      const query = parsed.query;
      const found = await deps.hosts.search(query, CANDIDATES);
      // A machine id names its history even when the record was merged away or is not in the inventory.
      const host = query.kind === 'machine_id' ? found.hosts[0] : pick(found.hosts, query.value);
      const machineId = host?.machineId ?? (query.kind === 'machine_id' ? query.value : undefined);
      if (!machineId) {
        if (found.total === 0) {
          return { reply: ephemeral(`No host matches ${code(query.value, 100)}. Try ${EXAMPLE}.`) };
        }
        const lines = found.hosts.map(
          (h) =>
            `• ${code(h.name || h.machineId, 120)} · ${code(h.machineId, 60)}${h.mergedIntoMachineId ? ' · merged' : ''}`,
        );
        const more = found.total - found.hosts.length;
        const text = [
          `${found.total} hosts match ${code(query.value, 100)}; name one by its machine id, e.g. \`/hostlock history ${codeSafe(found.hosts[0]?.machineId ?? '')}\`:`,
          ...lines,
          ...(more > 0 ? [`…and ${more} more.`] : []),
        ].join('\n');
        return {
          reply: ephemeral(text, [
            { type: 'section', text: { type: 'mrkdwn', text: truncateMrkdwn(text, SECTION_MAX) } },
          ]),
        };
      }
      const rows = await deps.lockdown.lockdowns.history(machineId, HISTORY_LIMIT + 1);
      const name = host?.name || rows[0]?.hostName || machineId;
      const title = `${code(name, 120)} (${code(machineId, 60)})`;
      if (rows.length === 0) {
        return {
          reply: ephemeral(
            host
              ? `${title} has never been locked down by hostlock.`
              : `No host or lockdown matches ${code(query.value, 100)}. Try ${EXAMPLE}.`,
          ),
        };
      }
      const now = deps.clock.now();
      const shown = rows.slice(0, HISTORY_LIMIT);
      const note =
        rows.length > HISTORY_LIMIT
          ? `Only the latest ${HISTORY_LIMIT} are shown; older ones are in the audit log.`
          : undefined;
      const blocks = pack(
        `*Lockdowns of ${title}*, newest first`,
        shown.map((l) => historyEntry(l, now)),
        note,
      );
      return { reply: ephemeral(`Lockdown history of ${truncateMrkdwn(escapeMrkdwn(name), 120)}`, blocks) };
    },
  };
}

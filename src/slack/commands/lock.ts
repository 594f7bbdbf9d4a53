import type { RespondArguments } from '@slack/bolt';
import { parseHostQuery } from '../../core/hosts/parse-host-query.js';
import { findOpenLockdown } from '../../core/lockdown/find-open-lockdown.js';
import { releaseLockdown } from '../../core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../core/lockdown/request-lockdown.js';
import { type RequestsInput, requestLockdowns } from '../../core/lockdown/request-lockdowns.js';
import { parseTicket, TICKET_EXAMPLE } from '../../core/lockdown/ticket.js';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import { refuse, type SlackDeps } from '../deps.js';
import { DURATION_VALUES, parseDuration } from '../ids.js';
import { releaseRefusal, requestRefusal, requestsAnswer, unlockAnswer } from '../lockdown-replies.js';
import type { Subcommand } from './registry.js';

const ephemeral = (text: string): RespondArguments => ({ response_type: 'ephemeral', text });
const USAGE = `\`/hostlock lock <host> [<host>…] <${DURATION_VALUES.join('|')}> [--selective|--full] [--ticket ${TICKET_EXAMPLE}] [reason]\`, e.g. \`/hostlock lock web-01 web-02 4h suspicious beacon\``;
const FLAGS = new Set(['--break-glass', '--selective', '--full']);
const MAX_REASON = 500;

/**
 * `/hostlock lock <host> <duration> [--selective|--full] [reason…] [--break-glass]` (permission
 * lockdown:edit). Without --selective / --full, the settings' isolation type applies.
 */
export function lockSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'lock',
    needs: 'lockdown:edit',
    example: 'lock web-01 4h beaconing to a known C2',
    usage: `lock <host> [<host>…] <${DURATION_VALUES.join('|')}> [--selective|--full] [--ticket ${TICKET_EXAMPLE}] [reason]`,
    summary:
      'lock hosts down for a preset time: several hosts make one request, one approval (needs approval unless turned off)',
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      if (!can(actor, 'lockdown:edit')) {
        return { reply: ephemeral(await refuse(deps, actor, 'lockdown:edit', 'lock')) };
      }
      // the hosts come first, up to the first preset duration (`web-01 web-02 10.0.0.5 4h …`)
      const at0 = ctx.args.findIndex((w, i) => i > 0 && parseDuration(w.toLowerCase()) !== null);
      const targets = at0 > 0 ? ctx.args.slice(0, at0) : ctx.args.slice(0, 1);
      const duration =
        (at0 > 0
          ? ctx.args[at0]
          : (ctx.args.find((w, i) => i > 0 && DURATION_LIKE.test(w)) ?? ctx.args[1])) ?? '';
      const rest = at0 > 0 ? ctx.args.slice(at0 + 1) : ctx.args.slice(2);
      // `--ticket INC-123` (or `--ticket=INC-123`) anywhere after the duration
      const at = rest.findIndex((w) => /^--ticket(=|$)/i.test(w));
      let words = rest;
      let ticket: string | undefined;
      if (at >= 0) {
        const given = rest[at]?.includes('=') ? rest[at]?.slice(rest[at].indexOf('=') + 1) : rest[at + 1];
        const parsedTicket = parseTicket(given ?? '');
        if (!parsedTicket) {
          return {
            reply: ephemeral(
              `A ticket is a tracker key such as \`${TICKET_EXAMPLE}\` (letters, digits, \`.\`, \`-\`, \`_\`, \`/\`, \`#\`; at most 64): ${USAGE}.`,
            ),
          };
        }
        ticket = parsedTicket;
        words = rest.filter((_, i) => i !== at && (rest[at]?.includes('=') || i !== at + 1));
      }
      const flags = words.map((w) => w.toLowerCase());
      const breakGlass = flags.includes('--break-glass');
      if (flags.includes('--selective') && flags.includes('--full')) {
        return { reply: ephemeral(`Choose one of \`--selective\` or \`--full\`, not both: ${USAGE}.`) };
      }
      const isolationType = flags.includes('--selective')
        ? ('Selective' as const)
        : flags.includes('--full')
          ? ('Full' as const)
          : undefined;
      const reason = words
        .filter((w) => !FLAGS.has(w.toLowerCase()))
        .join(' ')
        .trim();
      const queries = targets.map((t) => ({ t, parsed: parseHostQuery(t) }));
      const bad = queries.find((q) => !q.parsed.ok);
      const parsed = queries[0]?.parsed;
      if (!parsed?.ok || bad) {
        return {
          reply: ephemeral(
            bad && targets.length > 1
              ? `\`${truncateMrkdwn(codeSafe(bad.t), 80)}\` is not a host name, IP or machine id: ${USAGE}.`
              : `Tell me which host and for how long: ${USAGE}.`,
          ),
        };
      }
      const hours = parseDuration(duration.toLowerCase());
      if (!hours) {
        return {
          reply: ephemeral(
            `\`${truncateMrkdwn(codeSafe(duration || '(none)'), 20)}\` is not a preset duration. Choose one of ${DURATION_VALUES.join(', ')}: ${USAGE}.`,
          ),
        };
      }
      if (reason.length > MAX_REASON) {
        return {
          reply: ephemeral(
            `Keep the reason under ${MAX_REASON} characters (it goes into Defender's comment).`,
          ),
        };
      }
      // what a request of one host and of several share
      const common = {
        actor,
        durationHours: hours,
        reason,
        source: 'manual' as const,
        channel: ctx.channelId,
        breakGlass,
        ...(isolationType ? { isolationType } : {}),
        ...(ticket ? { ticket } : {}),
      };
      if (targets.length > 1) {
        return lockSeveral(deps, {
          ...common,
          queries: queries.flatMap((q) => (q.parsed.ok ? [q.parsed.query] : [])),
        });
      }
      return {
        reply: ephemeral(
          `Requesting a ${hours} h lockdown of \`${truncateMrkdwn(codeSafe(parsed.query.value), 100)}\`…`,
        ),
        followUp: async () => {
          const r = await requestLockdown(deps.lockdown, { ...common, query: parsed.query });
          if (!r.ok) {
            return ephemeral(requestRefusal(r));
          }
          const l = r.value.lockdown;
          const kind = l.isolationType === 'Selective' ? ' (selective isolation)' : '';
          const said =
            l.state === 'pending_approval'
              ? `Lockdown \`${l.id}\` of \`${codeSafe(r.value.host.name)}\` for ${hours} h${kind} is waiting for approval${l.approvalChannel ? ` in <#${l.approvalChannel}>` : ''}.`
              : `Lockdown \`${l.id}\` of \`${codeSafe(r.value.host.name)}\` for ${hours} h${kind} is approved; isolating through Defender.`;
          const notes = [r.value.isolationNote, r.value.postProblem].filter(Boolean);
          return ephemeral([said, ...notes.map((n) => `:warning: ${n}`)].join('\n'));
        },
      };
    },
  };
}

/** A word that was meant as a duration (`3h`, `4`, `90m`): named back when it is not a preset. */
const DURATION_LIKE = /^\d+[a-z]{0,3}$/i;

/**
 * `/hostlock lock web-01 web-02 … 4h` (issue #18, item 2): one request for all the hosts, one
 * approval; the requester hears which hosts are in it and which were left out, and why.
 */
function lockSeveral(
  deps: SlackDeps,
  input: RequestsInput,
): { reply: RespondArguments; followUp: () => Promise<RespondArguments> } {
  const hours = input.durationHours;
  return {
    reply: ephemeral(`Requesting a ${hours} h lockdown of ${input.queries.length} hosts in one request…`),
    followUp: async () => ephemeral(requestsAnswer(await requestLockdowns(deps.lockdown, input), hours)),
  };
}

/** `/hostlock unlock <host> [reason…]` (permission lockdown:edit): releases hostlock's own lockdown. */
export function unlockSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'unlock',
    needs: 'lockdown:edit',
    example: 'unlock web-01 false positive',
    usage: 'unlock <host> [reason]',
    summary: 'release a host hostlock locked (never one isolated outside hostlock)',
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      if (!can(actor, 'lockdown:edit')) {
        return { reply: ephemeral(await refuse(deps, actor, 'lockdown:edit', 'unlock')) };
      }
      const [target = '', ...words] = ctx.args;
      const parsed = parseHostQuery(target);
      if (!parsed.ok) {
        return { reply: ephemeral('Tell me which host: `/hostlock unlock web-01 [reason]`.') };
      }
      const found = await findOpenLockdown(deps.lockdown, parsed.query);
      if (found.found === 'no_host' || found.found === 'ambiguous') {
        return {
          reply: ephemeral(
            found.found === 'no_host'
              ? 'No host in hostlock’s inventory matches that; try `/hostlock list` for current lockdowns.'
              : 'Several hosts match: name it by its machine id (see `/hostlock list`).',
          ),
        };
      }
      const host = found.host;
      if (found.found === 'no_lockdown') {
        return {
          reply: ephemeral(
            found.isolatedOutside
              ? `\`${codeSafe(host.name)}\` is isolated outside hostlock (Defender portal or another tool); hostlock never releases what it did not lock.`
              : `\`${codeSafe(host.name)}\` has no open hostlock lockdown.`,
          ),
        };
      }
      const open = found.lockdown;
      const r = await releaseLockdown(deps.lockdown, { actor, lockdownId: open.id, reason: words.join(' ') });
      return {
        reply: ephemeral(r.ok ? unlockAnswer(r.value) : releaseRefusal(r.error, r.current)),
      };
    },
  };
}

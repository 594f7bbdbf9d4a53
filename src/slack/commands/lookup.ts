import type { RespondArguments, types } from '@slack/bolt';
import { hostsWithIpAt, IP_HISTORY_DAYS, type IpAtProblem, parseIpAt } from '../../core/hosts/ip-history.js';
import { LOOKUP_LIMIT, type LookupResult, lookupHost, needsDefender } from '../../core/hosts/lookup-host.js';
import { type HostQuery, parseHostQuery, type QueryProblem } from '../../core/hosts/parse-host-query.js';
import { exclusionOf } from '../../core/lockdown/exclusions.js';
import { codeSafe, slackDate, truncateMrkdwn } from '../../core/mrkdwn.js';
import { actorId, can } from '../../core/permissions.js';
import type { SlackActor } from '../actor.js';
import { hostCard, hostList } from '../blocks/host-card.js';
import { refuse, type SlackDeps } from '../deps.js';
import type { Subcommand } from './registry.js';

const EXAMPLE =
  '`/hostlock lookup web-01.contoso.com`, `/hostlock lookup 10.1.2.3` or a 40-character machine id';

const PROBLEMS: Record<QueryProblem, string> = {
  empty: `Tell me which host: ${EXAMPLE}.`,
  too_long: `That is too long for a host name (at most 255 characters). Try ${EXAMPLE}.`,
  control_characters: `That contains control characters. Type a host name, IP or machine id, e.g. ${EXAMPLE}.`,
  not_a_host: `That is not a host name, IP address or machine id. Try ${EXAMPLE}.`,
};

const DEFENDER_PROBLEM: Record<NonNullable<LookupResult['defenderProblem']>, string> = {
  not_configured: 'Defender is not configured yet, so only hostlock’s inventory was searched.',
  paused: 'Defender is paused by an admin, so only hostlock’s inventory was searched.',
  failed:
    'Defender could not be asked just now (it has been logged); this is hostlock’s last known inventory.',
  busy: 'Defender is busy with lockdowns, or you have looked up many hosts in the last minute: this is hostlock’s inventory; try again in a minute.',
};

const ephemeral = (text: string, blocks?: types.KnownBlock[]): RespondArguments => ({
  response_type: 'ephemeral',
  text,
  ...(blocks ? { blocks } : {}),
});

const AT_EXAMPLE = '`/hostlock lookup 10.1.2.3 at 2026-12-01T10:00Z`';
const AT_PROBLEMS: Record<IpAtProblem, string> = {
  not_an_ip: `\`at\` asks which device had an IP address at a time: give an IP, e.g. ${AT_EXAMPLE}.`,
  bad_time: `Write the time with its zone, e.g. ${AT_EXAMPLE} or \`2026-12-01T11:00+01:00\`.`,
  future: `That time is still to come: ask about a past one, e.g. ${AT_EXAMPLE}.`,
  too_old: `Defender keeps who-had-which-IP for ${IP_HISTORY_DAYS} days: ask about a time within them.`,
};
/** `<ip> at <time>` (issue #18, item 4) */
const AT = /^(\S+)\s+at\s+(\S+)$/i;

/** Which devices Defender saw with the IP around that time, as a list (the inventory knows only current IPs). */
async function lookupIpAt(
  deps: SlackDeps,
  actor: SlackActor,
  ip: string,
  at: Date,
): Promise<RespondArguments> {
  const r = await hostsWithIpAt(
    { hosts: deps.hosts, defender: deps.defender, clock: deps.clock },
    { ip, at, who: actorId(actor), guard: deps.lookupGuard },
  );
  if (r.error) {
    deps.log.error({ err: r.error, ip }, 'lookup.defender_failed');
  }
  const when = `between ${slackDate(r.from)} and ${slackDate(r.to)}`;
  const shown = `\`${codeSafe(ip)}\``;
  if (r.defenderProblem) {
    return ephemeral(
      `Could not ask Defender which device had ${shown} ${when}. ${DEFENDER_PROBLEM[r.defenderProblem].split(',')[0]}.`,
    );
  }
  if (r.hosts.length === 0) {
    return ephemeral(`Defender saw no device with ${shown} ${when}.`);
  }
  const heading = `*Defender saw ${r.hosts.length === 1 ? '1 device' : `${r.hosts.length} devices`} with ${shown}* ${when} (their facts as of now). To see one, use its machine id: \`/hostlock lookup &lt;machine id&gt;\``;
  return ephemeral(`${r.hosts.length} devices had ${ip} ${when}`, [
    ...hostList({ hosts: r.hosts, total: r.hosts.length, query: ip, now: deps.clock.now(), heading }),
  ]);
}

/** `--refresh` as its own word, anywhere in the text (no `g` flag: a global regex keeps state) */
const REFRESH = /(?<=^|\s)--refresh(?=\s|$)/i;

/**
 * Asks Defender (within the person's lookup quota) and answers with the card or list: the
 * follow-up of a lookup, `--refresh`, and the card's Refresh button (issue #15, item 11).
 */
export async function lookupFromDefender(
  deps: SlackDeps,
  actor: SlackActor,
  query: HostQuery,
  refresh: boolean,
): Promise<RespondArguments> {
  const settings = await deps.settings();
  const result = await lookupHost(
    { hosts: deps.hosts, defender: deps.defender, clock: deps.clock },
    { query, maxAgeMs: settings.pollMinutes * 60_000, who: actorId(actor), guard: deps.lookupGuard, refresh },
  );
  if (result.error) {
    deps.log.error({ err: result.error, query: query.value }, 'lookup.defender_failed');
  }
  return render(deps, actor, query, result);
}

/** `/hostlock lookup <name|ip|machine-id> [--refresh]` (permission lockdown:view). */
export function lookupSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'lookup',
    needs: 'lockdown:view',
    example: 'lookup 10.1.2.3',
    usage: 'lookup <name|ip|machine-id> [--refresh]',
    summary: 'show a host from Defender: OS, IPs, isolation, health, risk, last seen',
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      if (!can(actor, 'lockdown:view')) {
        return { reply: ephemeral(await refuse(deps, actor, 'lockdown:view', 'lookup')) };
      }
      const refresh = REFRESH.test(ctx.rest);
      const rest = ctx.rest.replace(new RegExp(REFRESH, 'gi'), ' ').trim();
      const asked = AT.exec(rest);
      if (asked) {
        const when = parseIpAt(asked[1] ?? '', asked[2] ?? '', deps.clock.now());
        if (typeof when === 'string') {
          return { reply: ephemeral(AT_PROBLEMS[when]) };
        }
        return {
          reply: ephemeral(
            `Asking Defender which device had \`${codeSafe(when.ip)}\` around ${slackDate(when.at)}…`,
          ),
          followUp: () => lookupIpAt(deps, actor, when.ip, when.at),
        };
      }
      const parsed = parseHostQuery(rest);
      if (!parsed.ok) {
        return { reply: ephemeral(PROBLEMS[parsed.problem]) };
      }
      const query = parsed.query;
      const settings = await deps.settings();
      const local = await deps.hosts.search(query, LOOKUP_LIMIT);
      if (!refresh && !needsDefender(local, settings.pollMinutes * 60_000, deps.clock.now())) {
        return { reply: await render(deps, actor, query, { ...local, askedDefender: false }) };
      }
      // Defender may take longer than Slack's 3 s: acknowledge now, answer through response_url.
      return {
        reply: ephemeral(`Looking up \`${truncateMrkdwn(codeSafe(query.value), 100)}\` in Defender…`),
        followUp: () => lookupFromDefender(deps, actor, query, refresh),
      };
    },
  };
}

async function render(
  deps: SlackDeps,
  actor: SlackActor,
  query: HostQuery,
  r: LookupResult,
): Promise<RespondArguments> {
  const note = r.defenderProblem ? DEFENDER_PROBLEM[r.defenderProblem] : undefined;
  const shown = truncateMrkdwn(codeSafe(query.value), 100);
  const now = deps.clock.now();
  if (r.total === 0) {
    return ephemeral(
      [`No host matches \`${shown}\`. Try a full name, an IP or a machine id, e.g. ${EXAMPLE}.`, note]
        .filter(Boolean)
        .join('\n'),
    );
  }
  const noteBlocks = note
    ? [{ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: note }] }]
    : [];
  const [only] = r.hosts;
  if (r.total === 1 && only) {
    const lockdown = r.lockdowns.get(only.machineId) ?? null;
    const settings = await deps.settings();
    const blocks = hostCard({
      host: only,
      lockdown,
      permissions: actor.permissions,
      now,
      portalUrl: deps.portalUrl(only.machineId),
      exclusion: exclusionOf(only, settings),
      containment: settings.containmentEnabled,
    });
    return ephemeral(`Host ${truncateMrkdwn(codeSafe(only.name || only.machineId), 150)}`, [
      ...blocks,
      ...noteBlocks,
    ]);
  }
  const blocks = hostList({ hosts: r.hosts, total: r.total, query: query.value, now });
  return ephemeral(`${r.total} hosts match ${shown}`, [...blocks, ...noteBlocks]);
}

import type { RespondArguments, types } from '@slack/bolt';
import { LOOKUP_LIMIT, type LookupResult, lookupHost, needsDefender } from '../../core/hosts/lookup-host.js';
import { type HostQuery, parseHostQuery, type QueryProblem } from '../../core/hosts/parse-host-query.js';
import { exclusionOf } from '../../core/lockdown/exclusions.js';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
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
      const parsed = parseHostQuery(ctx.rest.replace(new RegExp(REFRESH, 'gi'), ' ').trim());
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

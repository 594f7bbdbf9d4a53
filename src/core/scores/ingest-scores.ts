import type { TokenCaller } from '../api-tokens/queries.js';
import { lookupHost } from '../hosts/lookup-host.js';
import { type HostQuery, parseHostQuery } from '../hosts/parse-host-query.js';
import type { Host } from '../hosts/types.js';
import { type AutoDeps, type AutoOutcome, type HostScore, judgeScore } from '../lockdown/auto-lockdown.js';
import { pickOne } from '../lockdown/pick-host.js';
import { actorId, viaOf } from '../permissions.js';
import type { Store } from '../store.js';

/** A score computed further ahead than this is refused (a feed with a wrong clock). */
export const FUTURE_SKEW_MS = 5 * 60_000;
/**
 * Hosts the inventory does not know that one request may have looked up in Defender (issue #18,
 * item 7); each lookup also spends the lookup quota of the token's creator, shared with their /hostlock lookup.
 */
export const DEFENDER_LOOKUPS_PER_REQUEST = 10;

const UNKNOWN = 'no host in the inventory matches (name, IP or machine id), nor in Defender';
const NOT_ASKED = {
  quota:
    'no host in the inventory matches, and Defender was not asked: the lookup quota of this token’s creator is spent for now',
  cap: `no host in the inventory matches, and Defender is asked about at most ${DEFENDER_LOOKUPS_PER_REQUEST} unknown hosts a request`,
  unavailable: 'no host in the inventory matches, and Defender could not be asked just now',
};

export interface ScoreInput extends HostScore {
  /** the host as the feed named it: name, IP or machine id */
  host: string;
}

export type ScoreStatus = 'accepted' | 'invalid' | 'unknown_host' | 'ambiguous_host';

export interface ScoreOutcome {
  status: ScoreStatus;
  message?: string;
  machineId?: string;
  scoreId?: number;
  auto?: { outcome: AutoOutcome; lockdownId?: string };
}

/**
 * Score ingestion (scope `scores:write`): each score is resolved against the local inventory on its
 * own (unknown and ambiguous hosts are answered per item), every accepted score is stored, then each
 * is judged for automatic lockdown in order, against one settings snapshot (a request is one feed's
 * one batch). Returns one outcome per input, in order; 'forbidden' without the scope.
 */
export async function ingestScores(
  deps: { store: Store; auto: AutoDeps },
  input: { caller: TokenCaller; scores: readonly ScoreInput[] },
): Promise<ScoreOutcome[] | 'forbidden'> {
  if (!input.caller.scopes.includes('scores:write')) {
    return 'forbidden';
  }
  const now = deps.auto.clock.now();
  const outcomes: ScoreOutcome[] = [];
  const accepted: Array<{ outcome: ScoreOutcome; score: ScoreInput; host: Host }> = [];
  // every host named in the batch resolved at once (HostStore.searchMany), not one query each
  const queries = input.scores.map((s) => parseHostQuery(s.host));
  const asked = queries.flatMap((q) => (q.ok ? [q.query] : []));
  const answers = await deps.auto.hosts.searchMany(asked, 5);
  const settings = await deps.auto.settings();
  // a score refused anyway (computed in the future) does not make Defender be asked
  const future = (s: ScoreInput) => s.computedAt.getTime() > now.getTime() + FUTURE_SKEW_MS;
  const valid = input.scores.filter((_, i) => queries[i]?.ok).map((s) => !future(s));
  const why = await askDefender(deps.auto, input.caller, asked, answers, {
    maxAgeMs: settings.pollMinutes * 60_000,
    wanted: (k) => valid[k] === true,
  });
  let next = 0;
  for (const [i, score] of input.scores.entries()) {
    const q = queries[i] as (typeof queries)[number];
    const k = q.ok ? next++ : -1;
    const found = answers[k] ?? { hosts: [], total: 0 };
    if (future(score)) {
      outcomes.push({ status: 'invalid', message: 'computed_at: is in the future' });
      continue;
    }
    const host = q.ok ? pickOne(found.hosts, q.query) : null;
    if (!host) {
      const ambiguous = found.total > 1;
      outcomes.push({
        status: ambiguous ? 'ambiguous_host' : 'unknown_host',
        message: ambiguous
          ? 'several hosts match: send the machine id'
          : q.ok
            ? (why.get(k) ?? UNKNOWN)
            : 'no host in the inventory matches (name, IP or machine id)',
      });
      continue;
    }
    const outcome: ScoreOutcome = { status: 'accepted', machineId: host.machineId };
    outcomes.push(outcome);
    accepted.push({ outcome, score, host });
  }
  const by = viaOf(input.caller.actor) ?? actorId(input.caller.actor);
  const ids = await deps.store.scores.insert(
    accepted.map(({ score, host }) => ({
      machineId: host.machineId,
      threat: score.threat,
      certainty: score.certainty,
      privilege: score.privilege,
      computedAt: score.computedAt,
      submittedBy: by,
    })),
  );
  const auto: AutoDeps = { ...deps.auto, settings: async () => settings };
  for (const [i, a] of accepted.entries()) {
    const judged = await judgeScore(auto, a.host, a.score, {
      via: viaOf(input.caller.actor) ?? by,
      actor: actorId(input.caller.actor),
    });
    a.outcome.scoreId = ids[i];
    a.outcome.auto = {
      outcome: judged.outcome,
      ...(judged.lockdownId ? { lockdownId: judged.lockdownId } : {}),
    };
  }
  return outcomes;
}

/**
 * The hosts of a batch the inventory does not know are asked of Defender (issue #18, item 7), each
 * distinct one once, at most DEFENDER_LOOKUPS_PER_REQUEST, within the lookup quota of the token's creator: what
 * Defender knows is stored and answers the query (`answers` is updated in place). Returns why a
 * query is still unanswered, by its index, when Defender was not asked for it.
 */
async function askDefender(
  deps: AutoDeps,
  caller: TokenCaller,
  asked: readonly HostQuery[],
  answers: Array<{ hosts: Host[]; total: number }>,
  o: { maxAgeMs: number; wanted: (k: number) => boolean },
): Promise<Map<number, string>> {
  const why = new Map<number, string>();
  const byQuery = new Map<string, number[]>();
  for (const [k, q] of asked.entries()) {
    if ((answers[k]?.total ?? 0) === 0 && o.wanted(k)) {
      const key = `${q.kind}:${q.value}`;
      byQuery.set(key, [...(byQuery.get(key) ?? []), k]);
    }
  }
  let lookups = 0;
  for (const indexes of byQuery.values()) {
    const query = asked[indexes[0] as number] as HostQuery;
    if (lookups >= DEFENDER_LOOKUPS_PER_REQUEST) {
      for (const k of indexes) {
        why.set(k, NOT_ASKED.cap);
      }
      continue;
    }
    lookups += 1;
    const found = await lookupHost(
      { hosts: deps.hosts, defender: deps.defender, clock: deps.clock },
      {
        query,
        maxAgeMs: o.maxAgeMs,
        withIsolation: false,
        who: actorId(caller.actor),
        ...(deps.lookupGuard ? { guard: deps.lookupGuard } : {}),
      },
    );
    for (const k of indexes) {
      answers[k] = { hosts: found.hosts, total: found.total };
      if (found.total === 0 && found.defenderProblem) {
        why.set(k, found.defenderProblem === 'busy' ? NOT_ASKED.quota : NOT_ASKED.unavailable);
      }
    }
  }
  return why;
}

import type { TokenCaller } from '../api-tokens/queries.js';
import { parseHostQuery } from '../hosts/parse-host-query.js';
import type { Host } from '../hosts/types.js';
import { type AutoDeps, type AutoOutcome, type HostScore, judgeScore } from '../lockdown/auto-lockdown.js';
import { pickOne } from '../lockdown/pick-host.js';
import { actorId, viaOf } from '../permissions.js';
import type { Store } from '../store.js';

/** A score computed further ahead than this is refused (a feed with a wrong clock). */
export const FUTURE_SKEW_MS = 5 * 60_000;

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
  let next = 0;
  for (const [i, score] of input.scores.entries()) {
    const q = queries[i] as (typeof queries)[number];
    const found = q.ok ? (answers[next++] ?? { hosts: [], total: 0 }) : { hosts: [], total: 0 };
    if (score.computedAt.getTime() > now.getTime() + FUTURE_SKEW_MS) {
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
  const settings = await deps.auto.settings();
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

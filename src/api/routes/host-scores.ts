import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseHostQuery } from '../../core/hosts/parse-host-query.js';
import type { Host } from '../../core/hosts/types.js';
import { type AutoDeps, type AutoOutcome, judgeScore } from '../../core/lockdown/auto-lockdown.js';
import { pickOne } from '../../core/lockdown/request-lockdown.js';
import type { Database } from '../../db/client.js';
import { insertScores } from '../../db/repos/auto.js';
import type { ApiCaller } from '../auth.js';
import { apiError, readJsonBody } from '../http.js';
import { sendJson } from '../server.js';
import { MAX_HOST_LENGTH } from './lockdown-hosts.js';

/** Most scores one request may carry. */
export const MAX_SCORES = 1000;
/** A body of 1 000 scores is ~150 KB; the cap leaves room and no more. */
export const MAX_SCORES_BODY_BYTES = 256 * 1024;
/** A score computed further ahead than this is refused (a feed with a wrong clock). */
const FUTURE_SKEW_MS = 5 * 60_000;

export const HostScoreItem = z.strictObject({
  host: z
    .string()
    .trim()
    .min(1)
    .max(MAX_HOST_LENGTH)
    .meta({ description: 'host name, IP address or MDE machine id' }),
  threat: z.number().int().min(0).max(99),
  certainty: z.number().int().min(0).max(99),
  privilege: z.number().int().min(1).max(10).meta({ description: 'observed privilege' }),
  computed_at: z.iso
    .datetime({ offset: true })
    .meta({ description: 'when the scores were computed (RFC 3339)' }),
});

export const HostScoresBody = z.union([HostScoreItem, z.array(z.unknown()).min(1).max(MAX_SCORES)]);

export const ScoreResult = z.object({
  index: z.number().int(),
  host: z.string().nullable(),
  status: z.enum(['accepted', 'invalid', 'unknown_host', 'ambiguous_host']),
  message: z.string().optional(),
  machine_id: z.string().optional(),
  score_id: z.number().int().optional(),
  auto: z
    .object({
      outcome: z.enum([
        'auto_off',
        'before_thresholds',
        'below_threshold',
        'excluded',
        'already_locked',
        'isolated_outside',
        'dry_run',
        'capped',
        'locked',
        'pending_approval',
        'refused',
      ] satisfies AutoOutcome[]),
      lockdown_id: z.string().optional(),
    })
    .optional(),
});
export type ScoreResult = z.infer<typeof ScoreResult>;

export const HostScoresAnswer = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  results: z.array(ScoreResult),
});

export interface ScoreRouteDeps {
  db: Database;
  auto: AutoDeps;
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i?.path.join('.') || 'item'}: ${i?.message ?? 'invalid'}`;
}

/**
 * `POST /api/v2.1/host/scores`: one score or an array of at most 1 000. Each item is validated and
 * resolved against the local inventory on its own (unknown and ambiguous hosts are reported per
 * item); accepted scores are stored, then judged for automatic lockdown in order.
 */
export async function postScores(
  deps: ScoreRouteDeps,
  caller: ApiCaller,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(req, MAX_SCORES_BODY_BYTES);
  if (!body.ok) {
    res.setHeader('connection', 'close');
    apiError(res, body.status, body.code, body.message);
    return;
  }
  const shape = HostScoresBody.safeParse(body.value);
  if (!shape.success) {
    const many = Array.isArray(body.value);
    apiError(
      res,
      400,
      'bad_request',
      many
        ? `Send 1 to ${MAX_SCORES} scores in the array.`
        : `${issueText(shape.error)}. Send { "host", "threat": 0-99, "certainty": 0-99, "privilege": 1-10, "computed_at": "<RFC 3339>" } or an array of them.`,
    );
    return;
  }
  const items = Array.isArray(shape.data) ? shape.data : [shape.data];
  const now = deps.auto.clock.now();
  const results: ScoreResult[] = [];
  const accepted: Array<{ result: ScoreResult; score: z.infer<typeof HostScoreItem>; host: Host }> = [];
  for (const [index, raw] of items.entries()) {
    const parsed = HostScoreItem.safeParse(raw);
    const hostText =
      typeof (raw as { host?: unknown })?.host === 'string'
        ? (raw as { host: string }).host.slice(0, MAX_HOST_LENGTH)
        : null;
    if (!parsed.success) {
      results.push({ index, host: hostText, status: 'invalid', message: issueText(parsed.error) });
      continue;
    }
    const computedAt = new Date(parsed.data.computed_at);
    if (computedAt.getTime() > now.getTime() + FUTURE_SKEW_MS) {
      results.push({ index, host: hostText, status: 'invalid', message: 'computed_at: is in the future' });
      continue;
    }
    const q = parseHostQuery(parsed.data.host);
    const found = q.ok ? await deps.auto.hosts.search(q.query, 5) : { hosts: [], total: 0 };
    const host = q.ok ? pickOne(found.hosts, q.query) : null;
    if (!host) {
      results.push({
        index,
        host: hostText,
        status: found.total > 1 ? 'ambiguous_host' : 'unknown_host',
        message:
          found.total > 1
            ? 'several hosts match: send the machine id'
            : 'no host in the inventory matches (name, IP or machine id)',
      });
      continue;
    }
    const result: ScoreResult = { index, host: hostText, status: 'accepted', machine_id: host.machineId };
    results.push(result);
    accepted.push({ result, score: parsed.data, host });
  }
  const ids = await insertScores(
    deps.db,
    accepted.map((a) => ({
      machineId: a.result.machine_id ?? '',
      threat: a.score.threat,
      certainty: a.score.certainty,
      privilege: a.score.privilege,
      computedAt: new Date(a.score.computed_at),
      submittedBy: `api:${caller.actor.tokenId}`,
    })),
  );
  // One settings snapshot judges the whole request (a request is one feed's one batch).
  const settings = await deps.auto.settings();
  const auto: AutoDeps = { ...deps.auto, settings: async () => settings };
  for (const [i, a] of accepted.entries()) {
    a.result.score_id = ids[i];
    const judged = await judgeScore(auto, a.host, {
      threat: a.score.threat,
      certainty: a.score.certainty,
      privilege: a.score.privilege,
      computedAt: new Date(a.score.computed_at),
    });
    a.result.auto = {
      outcome: judged.outcome,
      ...(judged.lockdownId ? { lockdown_id: judged.lockdownId } : {}),
    };
  }
  sendJson(res, 200, {
    accepted: accepted.length,
    rejected: results.length - accepted.length,
    results,
  });
}

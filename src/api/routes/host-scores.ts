import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AutoDeps, AutoOutcome } from '../../core/lockdown/auto-lockdown.js';
import { ingestScores, type ScoreInput } from '../../core/scores/ingest-scores.js';
import type { Store } from '../../core/store.js';
import type { ApiCaller } from '../auth.js';
import { apiError, readJsonBody } from '../http.js';
import { sendJson } from '../server.js';
import { MAX_HOST_LENGTH } from './lockdown-hosts.js';

/** Most scores one request may carry. */
export const MAX_SCORES = 1000;
/** A body of 1 000 scores is ~150 KB; the cap leaves room and no more. */
export const MAX_SCORES_BODY_BYTES = 256 * 1024;

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
  machine_id: z.string().optional().meta({ description: 'only for a token that also has lockdown:view' }),
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
      lockdown_id: z
        .string()
        .optional()
        .meta({ description: 'only for a token that also has lockdown:view' }),
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
  store: Store;
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
  const results: ScoreResult[] = [];
  const valid: Array<{ result: ScoreResult; score: ScoreInput }> = [];
  for (const [index, raw] of items.entries()) {
    const parsed = HostScoreItem.safeParse(raw);
    const hostText =
      typeof (raw as { host?: unknown })?.host === 'string'
        ? (raw as { host: string }).host.slice(0, MAX_HOST_LENGTH)
        : null;
    const result: ScoreResult = { index, host: hostText, status: 'invalid' };
    results.push(result);
    if (!parsed.success) {
      result.message = issueText(parsed.error);
      continue;
    }
    const { host, threat, certainty, privilege, computed_at } = parsed.data;
    valid.push({ result, score: { host, threat, certainty, privilege, computedAt: new Date(computed_at) } });
  }
  const outcomes = await ingestScores(deps, { caller, scores: valid.map((v) => v.score) });
  if (outcomes === 'forbidden') {
    apiError(res, 403, 'forbidden', 'This token lacks the `scores:write` scope. Create a token that has it.');
    return;
  }
  // A feed that may only write scores learns whether each was accepted and what automation did
  // with it, not which machine a name resolved to or which lockdown it opened: those are what
  // `lockdown:view` is for.
  const sees = caller.scopes.includes('lockdown:view');
  for (const [i, o] of outcomes.entries()) {
    const r = valid[i]?.result;
    if (r) {
      Object.assign(r, {
        status: o.status,
        ...(o.message ? { message: o.message } : {}),
        ...(sees && o.machineId ? { machine_id: o.machineId } : {}),
        ...(o.scoreId !== undefined ? { score_id: o.scoreId } : {}),
        ...(o.auto
          ? {
              auto: {
                outcome: o.auto.outcome,
                ...(sees && o.auto.lockdownId ? { lockdown_id: o.auto.lockdownId } : {}),
              },
            }
          : {}),
      });
    }
  }
  const accepted = results.filter((r) => r.status === 'accepted').length;
  sendJson(res, 200, { accepted, rejected: results.length - accepted, results });
}

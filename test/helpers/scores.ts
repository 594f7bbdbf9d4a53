import type { z } from 'zod';
import type { HostScoresAnswer } from '../../src/api/routes/host-scores.js';
import type { Harness } from './harness.js';

export type ScoresAnswer = z.infer<typeof HostScoresAnswer>;

/**
 * Posts one high score for `host` to `POST /api/v2.1/host/scores` as a feed holding `token`
 * (computed now, so after any saved thresholds) and returns the answer; any status but 200 throws.
 */
export async function postScore(
  h: Harness,
  token: string,
  host: string,
  over: { threat?: number; certainty?: number; privilege?: number } = {},
): Promise<ScoresAnswer> {
  const res = await fetch(`${h.app.url}/api/v2.1/host/scores`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      host,
      threat: 90,
      certainty: 90,
      privilege: 9,
      ...over,
      computed_at: new Date().toISOString(),
    }),
  });
  if (res.status !== 200) {
    throw new Error(`POST /api/v2.1/host/scores answered ${res.status}: ${await res.text()}`);
  }
  return (await res.json()) as ScoresAnswer;
}

import { describe, expect, it } from 'vitest';
import type { TokenCaller } from '../../../src/core/api-tokens/queries.js';
import { ingestScores } from '../../../src/core/scores/ingest-scores.js';
import { host } from '../../helpers/memory/lockdowns.js';
import { memoryStore } from '../../helpers/memory/store.js';
import { lockdownDeps } from './lockdown-deps.js';

const caller = (scopes: TokenCaller['scopes']): TokenCaller => ({
  actor: { kind: 'api', tokenId: 'tok_feed', createdBy: 'slack:U0FEEDADM1', permissions: new Set() },
  tokenName: 'feed',
  scopes,
});
const WEB = host({ machineId: 'c'.repeat(40), name: 'web-01.contoso.com' });
const WEB2 = host({ machineId: 'd'.repeat(40), name: 'web-01.fabrikam.com' });
const score = (h: string, computedAt: Date, threat = 90) => ({
  host: h,
  threat,
  certainty: 90,
  privilege: 8,
  computedAt,
});

describe('ingestScores', () => {
  it('refuses a token without scores:write and stores nothing', async () => {
    const t = lockdownDeps({ hosts: [WEB] });
    const store = memoryStore();
    const r = await ingestScores(
      { store, auto: t.deps },
      { caller: caller(['lockdown:view']), scores: [score('web-01', new Date())] },
    );
    expect(r).toBe('forbidden');
    expect(store.state.scores).toEqual([]);
  });

  it('answers each score on its own: stored and judged, unknown, ambiguous, from the future', async () => {
    const t = lockdownDeps({
      hosts: [WEB, WEB2],
      settings: {
        autoEnabled: true,
        autoDryRun: false,
        thresholdsSavedAt: new Date('2026-11-01T00:00:00Z'),
        approverChannel: 'C0APPROVE1',
      },
    });
    const store = memoryStore();
    const at = new Date('2026-12-01T09:59:00Z');
    const r = await ingestScores(
      { store, auto: t.deps },
      {
        caller: caller(['scores:write']),
        scores: [
          score(WEB.machineId, at),
          score('nowhere-01', at),
          score('web-01', at),
          score(WEB.machineId, new Date('2026-12-01T11:00:00Z')),
        ],
      },
    );
    expect(r).toMatchObject([
      { status: 'accepted', machineId: WEB.machineId, scoreId: 1, auto: { outcome: 'pending_approval' } },
      { status: 'unknown_host' },
      { status: 'ambiguous_host' },
      { status: 'invalid', message: 'computed_at: is in the future' },
    ]);
    expect(store.state.scores).toMatchObject([{ machineId: WEB.machineId, submittedBy: 'api:tok_feed' }]);
  });

  it('judges only scores computed after the thresholds were saved', async () => {
    const t = lockdownDeps({
      hosts: [WEB],
      settings: { autoEnabled: true, autoDryRun: false, thresholdsSavedAt: new Date('2026-12-01T09:00:00Z') },
    });
    const store = memoryStore();
    const r = await ingestScores(
      { store, auto: t.deps },
      { caller: caller(['scores:write']), scores: [score(WEB.machineId, new Date('2026-12-01T08:00:00Z'))] },
    );
    expect(r).toMatchObject([{ status: 'accepted', auto: { outcome: 'before_thresholds' } }]);
    expect(t.lockdowns.memory.rows.size).toBe(0);
  });
});

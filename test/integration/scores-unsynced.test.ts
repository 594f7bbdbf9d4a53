import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFENDER_LOOKUPS_PER_REQUEST } from '../../src/core/scores/ingest-scores.js';
import { APPROVER_CHANNEL, bootHarness, type Harness } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #18, item 7: a score for a host the inventory does not know yet (Defender onboarded it
// after the last sync) makes hostlock ask Defender, store the machine and judge the score. Still
// unknown → unknown_host. A feed cannot turn a flood of made-up names into Defender calls.

let h: Harness;
let feed: string;

const machineGets = () =>
  h.mde.requests.filter((r) => r.method === 'GET' && /^\/api\/machines(\/|\?)/.test(r.path)).length;

async function post(scores: unknown[], token = feed) {
  const res = await fetch(`${h.app.url}/api/v2.1/host/scores`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(scores),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    results: Array<{ status: string; message?: string; machine_id?: string; auto?: { outcome: string } }>;
  };
}
const score = (host: string, threat = 90) => ({
  host,
  threat,
  certainty: 90,
  privilege: 9,
  computed_at: new Date().toISOString(),
});

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.settings({
    approver_channel: APPROVER_CHANNEL,
    auto_enabled: true,
    auto_dry_run: true,
    thresholds_saved_at: new Date(Date.now() - 3_600_000).toISOString(),
  });
  expect((await h.app.hostsSync.run()).status).toBe('ok');
  const t = await createApiToken(h.app.store, {
    name: 'unsynced-feed',
    scopes: ['scores:write', 'lockdown:view'],
  });
  if (t === 'name_taken') {
    throw new Error('token name taken');
  }
  feed = t.token;
});
afterAll(() => h.close());

describe('a score for a host not yet synced', () => {
  it('asks Defender, stores the machine and judges the score', async () => {
    const late = h.mde.machine({ computerDnsName: 'late-01.contoso.com', lastIpAddress: '10.77.0.1' });
    h.mde.addMachines([late]); // onboarded after the sync
    const r = await post([score('late-01.contoso.com')]);
    expect(r.results[0]).toMatchObject({
      status: 'accepted',
      machine_id: late.id,
      auto: { outcome: 'dry_run' },
    });
    const [row] = await h.db.sql`select name from hosts where machine_id = ${late.id}`;
    expect(row?.name).toBe('late-01.contoso.com');
    // known now: the next score is answered from the inventory
    const before = machineGets();
    expect((await post([score('late-01.contoso.com', 95)])).results[0]?.status).toBe('accepted');
    expect(machineGets()).toBe(before);
  });

  it('says unknown_host when Defender does not know it either', async () => {
    const r = await post([score('ghost-01.contoso.com')]);
    expect(r.results[0]).toMatchObject({ status: 'unknown_host' });
    expect(r.results[0]?.message).toMatch(/nor in Defender/);
  });

  it('asks Defender about a name once however often a batch repeats it, and about at most a few a request', async () => {
    const before = machineGets();
    const names = Array.from(
      { length: DEFENDER_LOOKUPS_PER_REQUEST + 15 },
      (_, i) => `nowhere-${i}.contoso.com`,
    );
    const r = await post([...names, names[0]].map((n) => score(n ?? '')));
    expect(r.results.every((x) => x.status === 'unknown_host')).toBe(true);
    expect(machineGets() - before).toBeLessThanOrEqual(DEFENDER_LOOKUPS_PER_REQUEST);
    expect(r.results.at(-2)?.message).toMatch(
      new RegExp(`at most ${DEFENDER_LOOKUPS_PER_REQUEST} unknown hosts`),
    );
  });

  it('stops asking once the token’s lookup quota is spent', async () => {
    let quota = '';
    for (let round = 0; round < 10 && !quota; round++) {
      const names = Array.from(
        { length: DEFENDER_LOOKUPS_PER_REQUEST },
        (_, i) => `q${round}-${i}.contoso.com`,
      );
      const r = await post(names.map((n) => score(n)));
      quota = r.results.map((x) => x.message ?? '').find((m) => /lookup quota .* is spent/.test(m)) ?? '';
    }
    expect(quota).toMatch(
      /Defender was not asked: the lookup quota of this token’s creator is spent for now/,
    );
  });

  it('a token asking Defender’s IP history over and over is stopped by the same quota: 429 lookup_quota', async () => {
    const at = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    let answer: { status: number; code?: string } = { status: 0 };
    for (let i = 0; i < 20 && answer.status !== 429; i++) {
      const res = await fetch(`${h.app.url}/api/v2.1/host?ip=10.99.0.${i}&at=${at}`, {
        headers: { authorization: `Bearer ${feed}` },
      });
      const body = (await res.json()) as { error?: { code: string } };
      answer = { status: res.status, ...(body.error ? { code: body.error.code } : {}) };
    }
    expect(answer).toEqual({ status: 429, code: 'lookup_quota' });
  });
});

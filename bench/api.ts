import { newId } from '../src/core/ids.js';
import { OPEN_LOCKDOWN_STATES } from '../src/core/lockdown/machine.js';
import { writeSettings } from '../src/db/repos/settings.js';
import { hostScores, lockdowns } from '../src/db/schema.js';
import { createApiToken } from '../test/helpers/tokens.js';
import type { BenchEnv } from './env.js';
import { fleetHosts } from './lockdown.js';
import { type Distribution, distribution, seededRandom } from './stats.js';

const API = '/api/v2.1';

async function token(env: BenchEnv, name: string, scope: 'scores:write' | 'lockdown:view'): Promise<string> {
  const t = await createApiToken(env.hostlock.store, { name, scopes: [scope] });
  if (t === 'name_taken') {
    throw new Error(`bench: an API token named ${name} already exists`);
  }
  return t.token;
}

export interface ScoreFigures {
  /** scores per request */
  batch: number;
  requests: number;
  /** POST /api/v2.1/host/scores with `batch` scores: request → full answer, ms */
  request: Distribution;
  /** scores answered per second over the measured requests (one request at a time) */
  scoresPerSecond: number;
  /** the same rows as one bare `insert into host_scores … returning id` (drizzle), ms */
  insert: Distribution;
  insertPerSecond: number;
}

/**
 * Score ingestion (issue #8): `requests` POSTs of `batch` scores each, every score below the
 * thresholds with auto-lockdown on (so each is stored, resolved against the inventory and judged,
 * and none locks anything), one request at a time, after `warmup` requests. Every answer must
 * accept every score as `below_threshold`. Baseline, alternating with the requests: a bare insert of
 * the same rows into host_scores through hostlock's pool.
 */
export async function measureScores(
  env: BenchEnv,
  o: { batch: number; requests: number; warmup: number; fleetSize: number },
): Promise<ScoreFigures> {
  const { db } = env.hostlock.database;
  // Thresholds saved a minute ago, auto-lockdown on and not in dry run: scores computed now are judged.
  await writeSettings(
    db,
    {
      auto_enabled: true,
      auto_dry_run: false,
      threshold_threat: 80,
      threshold_certainty: 80,
      threshold_privilege: 7,
      thresholds_saved_at: new Date(Date.now() - 60_000).toISOString(),
    },
    'bench',
  );
  const bearer = `Bearer ${await token(env, 'bench-scores', 'scores:write')}`;
  const lo = Math.min(10_000, o.fleetSize - o.batch);
  const pool = await fleetHosts(env, lo, Math.min(o.fleetSize - lo, 5_000));
  const random = seededRandom(808);
  const pick = (n: number) => Math.floor(random() * n);
  const batch = () => {
    const computedAt = new Date(Date.now() - 1_000);
    return Array.from({ length: o.batch }, () => {
      const h = pool[pick(pool.length)] ?? { name: '', machineId: '' };
      return {
        host: h,
        threat: pick(80),
        certainty: pick(80),
        privilege: 1 + pick(6),
        computed_at: computedAt.toISOString(),
      };
    });
  };
  const post = async (): Promise<number> => {
    const scores = batch();
    const body = JSON.stringify(scores.map(({ host, ...s }) => ({ host: host.name, ...s })));
    const started = performance.now();
    const res = await fetch(`${env.hostlock.url}${API}/host/scores`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/json' },
      body,
    });
    const answer = (await res.json()) as {
      accepted?: number;
      results?: Array<{ status: string; auto?: { outcome: string } }>;
    };
    const ms = performance.now() - started;
    const judged = answer.results?.filter((r) => r.auto?.outcome === 'below_threshold').length;
    if (res.status !== 200 || answer.accepted !== o.batch || judged !== o.batch) {
      throw new Error(
        `bench: POST ${API}/host/scores answered ${res.status}, accepted ${answer.accepted}, ` +
          `${judged} below threshold: ${JSON.stringify(answer).slice(0, 300)}`,
      );
    }
    return ms;
  };
  const insert = async (): Promise<number> => {
    const rows = batch().map(({ host, computed_at, ...s }) => ({
      machineId: host.machineId,
      ...s,
      computedAt: new Date(computed_at),
      submittedBy: 'bench',
    }));
    const started = performance.now();
    const ids = await db.insert(hostScores).values(rows).returning({ id: hostScores.id });
    const ms = performance.now() - started;
    if (ids.length !== o.batch) {
      throw new Error(`bench: the bare insert stored ${ids.length} of ${o.batch} scores`);
    }
    return ms;
  };
  for (let i = 0; i < o.warmup; i++) {
    await post();
    await insert();
  }
  const requests: number[] = [];
  const inserts: number[] = [];
  for (let i = 0; i < o.requests; i++) {
    requests.push(await post());
    inserts.push(await insert());
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    batch: o.batch,
    requests: o.requests,
    request: distribution(requests),
    scoresPerSecond: (o.batch * requests.length) / (sum(requests) / 1000),
    insert: distribution(inserts),
    insertPerSecond: (o.batch * inserts.length) / (sum(inserts) / 1000),
  };
}

export interface ListFigures {
  /** open lockdowns listed by each request */
  open: number;
  /** of which the bench wrote for this figure (the rest are the approval figure's) */
  added: number;
  n: number;
  /** GET /api/v2.1/lockdown/host: request → full answer, ms */
  request: Distribution;
  /** the bare select of the open lockdowns (postgres.js, hostlock's pool), ms */
  select: Distribution;
}

/**
 * REST list latency (issue #8): `GET /api/v2.1/lockdown/host` with `open` open lockdowns (those the
 * approval figure left, topped up with active lockdowns written directly, due in hours so the
 * engine leaves them alone), `n` requests one at a time after `warmup`. Baseline, alternating with
 * the requests: the bare select of the open lockdowns the route's store runs.
 */
export async function measureLockdownList(
  env: BenchEnv,
  o: { open: number; n: number; warmup: number; fleetSize: number },
): Promise<ListFigures> {
  const { db, sql: pg } = env.hostlock.database;
  const states = [...OPEN_LOCKDOWN_STATES];
  const [row] = await pg<
    { n: number }[]
  >`select count(*)::int as n from lockdowns where state = any(${states})`;
  const already = row?.n ?? 0;
  const added = Math.max(0, o.open - already);
  if (added > 0) {
    const now = Date.now();
    const targets = await fleetHosts(env, Math.floor((o.fleetSize * 3) / 4), added);
    await db.insert(lockdowns).values(
      targets.map((t, i) => ({
        id: newId('lck'),
        machineId: t.machineId,
        hostName: t.name,
        state: 'active',
        durationMinutes: 240,
        reason: 'bench: listed by the REST figure',
        requestedBy: i % 3 === 0 ? 'system:auto' : 'slack:U0BENCHREQ',
        approvedBy: 'slack:U0BENCHAPR',
        decidedAt: new Date(now - 120_000),
        source: i % 3 === 0 ? 'auto' : 'manual',
        lockedAt: new Date(now - 60_000),
        expiresAt: new Date(now + 4 * 3_600_000 - 60_000),
        attempts: 1,
        nextCheckAt: new Date(now + 3 * 3_600_000),
        createdAt: new Date(now - 180_000),
      })),
    );
  }
  const open = already + added;
  const bearer = `Bearer ${await token(env, 'bench-list', 'lockdown:view')}`;
  const get = async (): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${env.hostlock.url}${API}/lockdown/host`, {
      headers: { authorization: bearer },
    });
    const list = (await res.json()) as unknown[];
    const ms = performance.now() - started;
    if (res.status !== 200 || !Array.isArray(list) || list.length !== open) {
      throw new Error(
        `bench: GET ${API}/lockdown/host answered ${res.status} with ${Array.isArray(list) ? list.length : 'no'} lockdowns, expected ${open}`,
      );
    }
    return ms;
  };
  const select = async (): Promise<number> => {
    const started = performance.now();
    const rows = await pg`
      select * from lockdowns where state = any(${states}) order by created_at limit 1000`;
    const ms = performance.now() - started;
    if (rows.length !== open) {
      throw new Error(`bench: the bare select found ${rows.length} open lockdowns, expected ${open}`);
    }
    return ms;
  };
  for (let i = 0; i < o.warmup; i++) {
    await get();
    await select();
  }
  const requests: number[] = [];
  const selects: number[] = [];
  for (let i = 0; i < o.n; i++) {
    requests.push(await get());
    selects.push(await select());
  }
  return { open, added, n: o.n, request: distribution(requests), select: distribution(selects) };
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/core/api-tokens/tokens.js';
import type { RunningHostlock } from '../helpers/process.js';
import { bootCluster, type Cluster, seconds, until } from './helpers.js';

// reliability.md §9.1 C2 with several replicas (issue #15, item 8): 200 distinct hosts locked
// within 60 s through three hostlock processes on one database. The Defender budget (90 calls a
// minute, 1 400 an hour) is counted in PostgreSQL, so the three together must stay under it: the
// Defender peer's own log is the judge. Every host is isolated exactly once; none is lost.

const HOSTS = 200;
const REPLICAS = 3;
const PER_MINUTE = 90;
const ADMIN = 'U0C2ADMIN1';

let c: Cluster;
let procs: RunningHostlock[];
let token: string;
const names = Array.from({ length: HOSTS }, (_, i) => `c2-${String(i).padStart(3, '0')}.contoso.com`);

const SKIP = process.env.FAULTS_SKIP_LONG === '1';

beforeAll(async () => {
  if (SKIP) {
    return;
  }
  c = await bootCluster();
  for (const n of names) {
    c.machine(n);
  }
  await c.grant('admin', ADMIN);
  const t = generateApiToken();
  token = t.token;
  await c.db.sql`insert into api_tokens (id, name, token_hash, scopes, created_by, expires_at)
    values ('tok_c2load', 'c2-load', ${t.hash}, ${['lockdown:edit', 'lockdown:view']}, ${`slack:${ADMIN}`},
      now() + interval '1 day')`;
  const first = await c.start();
  procs = [first, ...(await Promise.all(Array.from({ length: REPLICAS - 1 }, () => c.start())))];
  await until(async () => {
    const [r] = await c.db.sql<{ n: number }[]>`select count(*)::int as n from hosts where name like 'c2-%'`;
    return (r?.n ?? 0) >= HOSTS;
  }, 'the first inventory sync');
});
afterAll(() => c?.close());

/** Defender calls per calendar minute of the peer's log, and the most in any sliding 60 s. */
function perMinute(times: number[]): { minutes: number[]; slidingMax: number } {
  const first = Math.floor((times[0] ?? 0) / 60_000);
  const minutes: number[] = [];
  for (const t of times) {
    const m = Math.floor(t / 60_000) - first;
    minutes[m] = (minutes[m] ?? 0) + 1;
  }
  let slidingMax = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] ?? 0) - (times[j] ?? 0) >= 60_000) {
      j++;
    }
    slidingMax = Math.max(slidingMax, i - j + 1);
  }
  return { minutes: Array.from(minutes, (n) => n ?? 0), slidingMax };
}

// About 6.5 minutes (the budget is the point): FAULTS_SKIP_LONG=1 leaves it out of a quick run.
describe.skipIf(SKIP)(`C2: ${HOSTS} lock requests within 60 s through ${REPLICAS} replicas`, () => {
  it(
    `isolates every host exactly once, and Defender never sees more than ${PER_MINUTE} calls in a minute`,
    async () => {
      const started = Date.now();
      const statuses = await Promise.all(
        names.map(async (host, i) => {
          const h = procs[i % REPLICAS];
          const r = await fetch(`${h?.url}/api/v2.1/lockdown/host`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ host, duration: '4h', reason: 'C2 load' }),
          });
          await r.body?.cancel();
          return r.status;
        }),
      );
      const requestedIn = Date.now() - started;
      expect(statuses.filter((s) => s === 201)).toHaveLength(HOSTS);
      expect(requestedIn).toBeLessThan(60_000);

      const active = await until(
        async () => {
          const [r] = await c.db.sql<{ n: number }[]>`
          select count(*)::int as n from lockdowns where host_name like 'c2-%' and state = 'active'`;
          return (r?.n ?? 0) >= HOSTS ? r?.n : null;
        },
        `all ${HOSTS} lockdowns active`,
        12 * 60_000,
        () => c.drive(),
      );
      const tookMs = Date.now() - started;

      const apiCalls = c.mde.requests.filter((r) => r.path.startsWith('/api/'));
      const times = apiCalls.map((r) => r.at.getTime()).sort((a, b) => a - b);
      const { minutes, slidingMax } = perMinute(times);
      const isolatePosts = c.posts('isolate');
      const lockdowns = await c.db.sql<{ n: number }[]>`
      select count(*)::int as n from lockdowns where host_name like 'c2-%'`;
      console.log(
        `C2 x${REPLICAS} replicas: ${HOSTS} requests in ${seconds(requestedIn)}, ${active} active after ${seconds(tookMs)}; ` +
          `${isolatePosts} isolate calls, ${apiCalls.length} Defender calls, per calendar minute [${minutes.join(', ')}], ` +
          `most in any 60 s ${slidingMax}; 429s ${apiCalls.filter((r) => r.status === 429).length}`,
      );
      expect(lockdowns[0]?.n).toBe(HOSTS); // none lost, none doubled
      expect(isolatePosts).toBe(HOSTS); // each host isolated once
      expect(Math.max(...minutes)).toBeLessThanOrEqual(PER_MINUTE);
      expect(slidingMax).toBeLessThanOrEqual(PER_MINUTE);
    },
    15 * 60_000,
  );
});

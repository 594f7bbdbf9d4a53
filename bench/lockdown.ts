import { inArray } from 'drizzle-orm';
import { parseHostQuery } from '../src/core/hosts/parse-host-query.js';
import { newId } from '../src/core/ids.js';
import { actionTag } from '../src/core/lockdown/advance-lockdown.js';
import { OPEN_LOCKDOWN_STATES } from '../src/core/lockdown/machine.js';
import { DEFAULT_TIMING } from '../src/core/lockdown/ports.js';
import { requestLockdown } from '../src/core/lockdown/request-lockdown.js';
import type { Lockdown } from '../src/core/lockdown/types.js';
import { lockdownStore } from '../src/db/repos/lockdowns.js';
import { writeSettings } from '../src/db/repos/settings.js';
import { hosts, lockdowns, roleBindings } from '../src/db/schema.js';
import { JobName } from '../src/jobs/names.js';
import { SLACK_EVENTS_PATH } from '../src/slack/app.js';
import { ActionId, lockdownBlockId } from '../src/slack/ids.js';
import { SlackSigner } from '../test/fakes/slack-signer.js';
import { FLEET_PREFIX, type PeerRequest } from './defender-peer.js';
import { type BenchEnv, SIGNING_SECRET } from './env.js';
import { type Distribution, distribution, seededRandom } from './stats.js';

/** A responder who asks for lockdowns, and another who approves them (no self-approval). */
const REQUESTER = 'U0BENCHREQ';
const APPROVER = 'U0BENCHAPR';
export const APPROVER_CHANNEL = 'C0APPROVE1';
/** hostlock's default lockdown tick (src/hostlock.ts), which the bench leaves as it is */
export const TICK_MS = 1_000;
/** src/mde/budget.ts: hostlock's client-side Defender budget, one window for every API */
const DEFENDER_CALLS_PER_MINUTE = 90;
/** calls kept in reserve for anything the bench did not plan (a retry) */
const BUDGET_MARGIN = 2;
/** Defender calls per approved lockdown: the look at the machine's actions, then the isolate */
export const CALLS_PER_APPROVAL = 2;
/**
 * Defender calls per expiring lockdown: the look at the machine's actions and the unisolate, plus
 * one look per tick in the EARLY_TOLERANCE_MS (2 s) before expires_at, when the ticker already
 * finds the row due and Step.active checks whether it was released outside hostlock.
 */
export const CALLS_PER_RELEASE = 4;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Wall clock with sub-millisecond resolution, comparable with Date.now() of other processes. */
const wallNow = () => performance.timeOrigin + performance.now();

/**
 * Roles, settings and the approver channel the lockdown figures need: the requester and the
 * approver are responders; approval is required and goes to a channel the Slack peer knows.
 */
export async function prepareLockdowns(env: BenchEnv): Promise<void> {
  const { db } = env.hostlock.database;
  await db.insert(roleBindings).values(
    [REQUESTER, APPROVER].map((subjectId) => ({
      role: 'responder',
      subjectType: 'user',
      subjectId,
      grantedBy: 'bench',
    })),
  );
  await writeSettings(db, { approval_required: true, approver_channel: APPROVER_CHANNEL }, 'bench');
  env.slack.addChannel({ id: APPROVER_CHANNEL, name: 'hostlock-approvals' });
  env.slack.addUser({ id: REQUESTER, name: 'bench-requester' });
  env.slack.addUser({ id: APPROVER, name: 'bench-approver' });
}

/**
 * hostlock's Defender client allows itself 90 calls in any 60 s (all APIs together). A measurement
 * that ran into that budget would measure the budget's queue, not hostlock: wait, using the peer's
 * own request log, until `calls` more fit in the window. Returns how long it waited. The log also
 * holds the bench's own raw reads (sync.ts), which hostlock's budget does not count: this errs on
 * the side of waiting.
 */
async function roomInDefenderBudget(env: BenchEnv, calls: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { requests } = await env.mde.requests(0);
    const now = Date.now();
    const recent = requests
      .filter((r) => r.path.startsWith('/api/') && r.atMs > now - 60_000)
      .map((r) => r.atMs)
      .sort((a, b) => a - b);
    const excess = recent.length + calls + BUDGET_MARGIN - DEFENDER_CALLS_PER_MINUTE;
    if (excess <= 0) {
      return Date.now() - started;
    }
    if (calls + BUDGET_MARGIN > DEFENDER_CALLS_PER_MINUTE) {
      throw new Error(
        `${calls} Defender calls never fit in hostlock's budget of ${DEFENDER_CALLS_PER_MINUTE}/min`,
      );
    }
    const leaves = recent[excess - 1] ?? now;
    await sleep(Math.max(50, leaves + 60_000 - now + 50));
  }
}

/** Defender API calls the peer received from `sinceMs` on. */
async function defenderCallsSince(env: BenchEnv, sinceMs: number): Promise<number> {
  const { requests } = await env.mde.requests(0);
  return requests.filter((r) => r.path.startsWith('/api/') && r.atMs >= sinceMs).length;
}

/** Follows the peer's request log from `cursor` on. */
function peerLog(env: BenchEnv, cursor: number) {
  let next = cursor;
  return {
    /** requests that arrived since the last call */
    async poll(): Promise<PeerRequest[]> {
      const r = await env.mde.requests(next);
      next = r.next;
      return r.requests;
    },
  };
}

const actionPost = (machineId: string, verb: 'isolate' | 'unisolate') => (r: PeerRequest) =>
  r.method === 'POST' && r.status === 201 && r.path === `/api/machines/${machineId}/${verb}`;

/** `count` fleet hosts starting at index `from`, with their machine ids, from the synced inventory. */
export async function fleetHosts(env: BenchEnv, from: number, count: number) {
  const names = Array.from({ length: count }, (_, i) => `${FLEET_PREFIX}-${from + i}`);
  const rows = await env.hostlock.database.db
    .select({ machineId: hosts.machineId, name: hosts.name })
    .from(hosts)
    .where(inArray(hosts.name, names));
  if (rows.length !== count) {
    throw new Error(`expected ${count} synced hosts from ${names[0]}, found ${rows.length}`);
  }
  const byName = new Map(rows.map((r) => [r.name, r.machineId]));
  return names.map((name) => ({ name, machineId: byName.get(name) ?? '' }));
}

/** Polls until `fn` answers non-null; throws after `timeoutMs`. */
async function until<T>(fn: () => Promise<T | null>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`bench: timed out waiting for ${what}`);
    }
    await sleep(10);
  }
}

/**
 * Takes a lockdown out of the engine's schedule once the bench has what it measured: otherwise it
 * would ask Defender about its pending action every 15 s and spend the budget the next measurement
 * needs. Nothing measured happens after this.
 */
async function quiesce(env: BenchEnv, ids: string[], column: 'mde_action_id' | 'mde_release_action_id') {
  const { sql: pg } = env.hostlock.database;
  await until(async () => {
    const [row] = await pg<{ n: number }[]>`
        select count(*)::int as n from lockdowns where id = any(${ids}) and ${pg(column)} is not null`;
    return row?.n === ids.length ? true : null;
  }, `hostlock to record the Defender action of ${ids.length} lockdown(s)`);
  await pg`update lockdowns set next_check_at = now() + interval '1 hour' where id = any(${ids})`;
}

/**
 * Removes the engine's pending triggers for these (quiesced) lockdowns, so that they do not run,
 * finding nothing due, in the middle of a later measurement. Triggers Agenda has already locked
 * (due within its 5 s poll) stay: deleting those makes Agenda log an error when they finish.
 */
async function dropTriggers(env: BenchEnv, ids: string[]): Promise<void> {
  await sleep(200); // a wake-up saved just after the row's commit
  const { sql: pg } = env.hostlock.database;
  await pg`
    delete from agenda_jobs
    where name = ${JobName.lockdownAdvance} and locked_at is null and data->>'lockdownId' = any(${ids})`;
}

export interface ApprovalFigures {
  n: number;
  /** signed Approve click sent → the Defender peer received POST /api/machines/{id}/isolate, ms */
  isolate: Distribution;
  /** the same click's HTTP ack (request → full response), ms */
  ack: Distribution;
  /** clicks after which no isolate arrived within the timeout (counted at the timeout) */
  timedOut: number;
  /** waited for room in hostlock's Defender call budget before the clicks, ms */
  budgetWaitMs: number;
  /** Defender API calls the peer received from the first click to the last isolate */
  defenderCalls: number;
}

/**
 * `n` lockdowns requested (pending approval, announced in the approver channel), then approved one
 * after another by a signed block_actions click on each announcement's Approve button; each is
 * timed from sending the click to the Defender peer receiving its isolate request. Clicks are
 * spaced by a random 0–`jitterMs` so they fall at every phase of the 1 s tick.
 */
export async function measureApprovals(
  env: BenchEnv,
  o: { n: number; fleetSize: number; jitterMs: number; timeoutMs: number },
): Promise<ApprovalFigures> {
  const deps = env.hostlock.slackDeps;
  const targets = await fleetHosts(env, Math.floor(o.fleetSize / 2), o.n);
  const requester = await deps.actors.resolve(REQUESTER);
  const pending: Array<{ lockdown: Lockdown; machineId: string }> = [];
  for (const t of targets) {
    const query = parseHostQuery(t.name);
    if (!query.ok) {
      throw new Error(`bench: ${t.name} is not a host query (${query.problem})`);
    }
    const r = await requestLockdown(deps.lockdown, {
      actor: requester,
      query: query.query,
      durationHours: 1,
      reason: 'bench',
      source: 'manual',
      channel: null,
    });
    if (!r.ok) {
      throw new Error(`bench: lock ${t.name} refused: ${r.error}`);
    }
    const l = r.value.lockdown;
    if (l.state !== 'pending_approval' || l.approvalChannel !== APPROVER_CHANNEL || !l.approvalTs) {
      throw new Error(`bench: lockdown ${l.id} is ${l.state} in ${l.approvalChannel}/${l.approvalTs}`);
    }
    pending.push({ lockdown: l, machineId: r.value.host.machineId });
  }

  const budgetWaitMs = await roomInDefenderBudget(env, CALLS_PER_APPROVAL * o.n);
  const startedMs = Date.now();
  const signer = new SlackSigner({
    signingSecret: SIGNING_SECRET,
    eventsUrl: `${env.hostlock.url}${SLACK_EVENTS_PATH}`,
    peer: env.slack,
  });
  const random = seededRandom(4242);
  const samples: number[] = [];
  const acks: number[] = [];
  let timedOut = 0;
  for (const { lockdown: l, machineId } of pending) {
    await sleep(random() * o.jitterMs);
    const log = peerLog(env, (await env.mde.requests(Number.MAX_SAFE_INTEGER)).next);
    const sentAt = wallNow();
    const res = await signer.blockAction({
      userId: APPROVER,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(l.id),
      value: l.id,
      channelId: APPROVER_CHANNEL,
      messageTs: l.approvalTs ?? '',
    });
    if (res.status !== 200) {
      throw new Error(
        `bench: the Approve click on ${l.id} answered ${res.status}: ${res.text.slice(0, 200)}`,
      );
    }
    acks.push(res.elapsedMs);
    const isolate = actionPost(machineId, 'isolate');
    let arrived: PeerRequest | undefined;
    while (!arrived && wallNow() - sentAt < o.timeoutMs) {
      arrived = (await log.poll()).find(isolate);
      if (!arrived) {
        await sleep(5);
      }
    }
    if (arrived) {
      samples.push(arrived.atMs - sentAt);
      await quiesce(env, [l.id], 'mde_action_id');
    } else {
      timedOut++;
      samples.push(o.timeoutMs);
    }
  }
  const defenderCalls = await defenderCallsSince(env, startedMs);
  await dropTriggers(
    env,
    pending.map((p) => p.lockdown.id),
  );
  return {
    n: o.n,
    isolate: distribution(samples),
    ack: distribution(acks),
    timedOut,
    budgetWaitMs,
    defenderCalls,
  };
}

export interface ReleaseFigures {
  m: number;
  /** unisolate request received by the Defender peer − expires_at, ms (negative: released early) */
  lateness: Distribution;
  /** |lateness|: how far from expires_at, early or late, ms */
  offset: Distribution;
  /** releases that reached Defender before expires_at (the engine acts up to EARLY_TOLERANCE_MS early) */
  early: number;
  /** a plain setTimeout for each expires_at in this process: fire time − expires_at, ms */
  timer: Distribution;
  tickMs: number;
  /** the first lockdown expires this long after the rows are written; the others one every `gapMs` on average */
  leadMs: number;
  gapMs: number;
  /** lockdowns whose release did not arrive within the timeout (counted at the timeout) */
  timedOut: number;
  budgetWaitMs: number;
  /** Defender API calls the peer received from writing the rows to the last unisolate */
  defenderCalls: number;
}

export interface OpenBackground {
  /** open (active) lockdowns besides the measured ones, none due during the measurement */
  open: number;
  /** the engine's 1 s sweep query (`due`, SWEEP_BATCH rows) with them in the table, ms */
  dueQuery: Distribution;
  /** … and before they were written (only the bench's earlier rows) */
  dueQueryEmpty: Distribution;
  /** its plan, e.g. `Limit > Index Scan using lockdowns_next_check_idx on lockdowns` */
  duePlan: string;
}

/**
 * `n` active lockdowns on hosts from `from` in the fleet, expiring in a day (not due during the
 * bench), so the release figures are taken with that many open; and the engine's sweep query timed
 * against them. `remove` deletes them again (the later figures count their own open lockdowns).
 */
export async function openBackground(
  env: BenchEnv,
  o: { n: number; from: number; samples: number },
): Promise<OpenBackground & { remove(): Promise<void> }> {
  const { db, sql } = env.hostlock.database;
  const store = lockdownStore(db);
  const timeDue = async () => {
    const times: number[] = [];
    for (let i = 0; i < o.samples; i++) {
      const started = performance.now();
      await store.due(new Date(Date.now() + 2_000), 200);
      times.push(performance.now() - started);
    }
    return distribution(times);
  };
  const dueQueryEmpty = await timeDue();
  const targets = await fleetHosts(env, o.from, o.n);
  const lockedAt = Date.now() - 60_000;
  const expiresAt = lockedAt + 24 * 3_600_000;
  const ids: string[] = [];
  for (let i = 0; i < targets.length; i += 1_000) {
    const rows = targets.slice(i, i + 1_000).map((t) => {
      const id = newId('lck');
      ids.push(id);
      return {
        id,
        machineId: t.machineId,
        hostName: t.name,
        state: 'active' as const,
        durationMinutes: 24 * 60,
        reason: 'bench background',
        requestedBy: `slack:${REQUESTER}`,
        approvedBy: `slack:${APPROVER}`,
        decidedAt: new Date(lockedAt - 10_000),
        source: 'manual' as const,
        lockedAt: new Date(lockedAt),
        expiresAt: new Date(expiresAt),
        attempts: 1,
        nextCheckAt: new Date(expiresAt),
        remindedAt: new Date(expiresAt - DEFAULT_TIMING.reminderBeforeMs),
        createdAt: new Date(lockedAt - 20_000),
      };
    });
    await db.insert(lockdowns).values(rows);
  }
  await sql`analyze lockdowns`;
  const dueQuery = await timeDue();
  const plan = await sql.unsafe(
    `explain select id from lockdowns where state in (${OPEN_LOCKDOWN_STATES.map((x) => `'${x}'`).join(', ')})
       and next_check_at <= now() order by next_check_at limit 200`,
  );
  return {
    open: o.n,
    dueQuery,
    dueQueryEmpty,
    duePlan: plan
      .map((r) => String(r['QUERY PLAN']))
      .filter((l) => /Scan|Limit|Sort/.test(l))
      .map((l) =>
        l
          .trim()
          .replace(/^->\s*/, '')
          .replace(/\s+\(cost.*$/, ''),
      )
      .join(' > '),
    async remove() {
      for (let i = 0; i < ids.length; i += 1_000) {
        await db.delete(lockdowns).where(inArray(lockdowns.id, ids.slice(i, i + 1_000)));
      }
    },
  };
}

/**
 * `m` active lockdowns as hostlock leaves them after isolating (Defender's Succeeded Isolate
 * action tagged with the lockdown, `mde_action_id`, the host marked isolated by hostlock, the
 * reminder already posted, next_check_at = expires_at and the engine woken for then), the first
 * expiring `leadMs` from now, the next ones one every `gapMs` on average, each at a random point of
 * its own gap: they fall at every phase of the tick, and mostly one at a time, as expiries do.
 * Each is timed from its expires_at to the Defender peer receiving its unisolate request.
 */
export async function measureReleases(
  env: BenchEnv,
  o: { m: number; fleetSize: number; leadMs: number; gapMs: number; timeoutMs: number },
): Promise<ReleaseFigures> {
  const { db } = env.hostlock.database;
  const targets = await fleetHosts(env, Math.floor(o.fleetSize / 4), o.m);
  const budgetWaitMs = await roomInDefenderBudget(env, CALLS_PER_RELEASE * o.m);
  const startedMs = Date.now();

  const random = seededRandom(2718);
  const base = Math.ceil(Date.now() + o.leadMs);
  const planned = targets.map((t, i) => {
    const expiresAt = base + Math.round((i + random()) * o.gapMs);
    return { ...t, id: newId('lck'), expiresAt, lockedAt: expiresAt - 3_600_000 };
  });
  const actionIds = await env.mde.addActions(
    planned.map((p) => ({
      machineId: p.machineId,
      type: 'Isolate' as const,
      comment: `${actionTag(p.id)} hostlock lockdown for 1 h requested by slack:${REQUESTER}, approved by slack:${APPROVER}: bench`,
      atMs: p.lockedAt - 5_000,
    })),
  );
  await db.transaction(async (tx) => {
    await tx.insert(lockdowns).values(
      planned.map((p, i) => ({
        id: p.id,
        machineId: p.machineId,
        hostName: p.name,
        state: 'active',
        durationMinutes: 60,
        reason: 'bench',
        requestedBy: `slack:${REQUESTER}`,
        approvedBy: `slack:${APPROVER}`,
        decidedAt: new Date(p.lockedAt - 10_000),
        source: 'manual',
        mdeActionId: actionIds[i] ?? null,
        lockedAt: new Date(p.lockedAt),
        expiresAt: new Date(p.expiresAt),
        attempts: 1,
        nextCheckAt: new Date(p.expiresAt),
        remindedAt: new Date(p.expiresAt - DEFAULT_TIMING.reminderBeforeMs),
        createdAt: new Date(p.lockedAt - 20_000),
      })),
    );
    await tx
      .update(hosts)
      .set({ isolationState: 'isolated_by_hostlock', isolationSource: 'hostlock' })
      .where(
        inArray(
          hosts.machineId,
          planned.map((p) => p.machineId),
        ),
      );
  });
  // what the reminder step did when it set next_check_at = expires_at
  for (const p of planned) {
    await env.hostlock.slackDeps.lockdown.wake(p.id, new Date(p.expiresAt));
  }
  if (Date.now() >= base) {
    throw new Error(`bench: setting up ${o.m} lockdowns took longer than the ${o.leadMs} ms lead`);
  }

  const timer: number[] = [];
  for (const p of planned) {
    setTimeout(() => timer.push(wallNow() - p.expiresAt), p.expiresAt - Date.now());
  }
  const log = peerLog(env, 0);
  const released = new Map<string, number>();
  const last = Math.max(...planned.map((p) => p.expiresAt));
  while (released.size < planned.length && Date.now() < last + o.timeoutMs) {
    const seen: string[] = [];
    for (const r of await log.poll()) {
      const p = planned.find((x) => actionPost(x.machineId, 'unisolate')(r));
      if (p && !released.has(p.id)) {
        released.set(p.id, r.atMs - p.expiresAt);
        seen.push(p.id);
      }
    }
    // the phase outlasts the engine's 15 s follow-up of the first releases: stop each once measured
    if (seen.length) {
      await quiesce(env, seen, 'mde_release_action_id');
    }
    await sleep(20);
  }
  const defenderCalls = await defenderCallsSince(env, startedMs);
  const timedOut = planned.length - released.size;
  const samples = planned.map((p) => released.get(p.id) ?? last + o.timeoutMs - p.expiresAt);
  await dropTriggers(
    env,
    planned.map((p) => p.id),
  );
  // every timer has fired by now (the last expiry is behind us)
  await sleep(Math.max(0, last - Date.now() + 50));
  return {
    m: o.m,
    lateness: distribution(samples),
    offset: distribution(samples.map(Math.abs)),
    early: samples.filter((x) => x < 0).length,
    timer: distribution(timer),
    tickMs: TICK_MS,
    leadMs: o.leadMs,
    gapMs: o.gapMs,
    timedOut,
    budgetWaitMs,
    defenderCalls,
  };
}

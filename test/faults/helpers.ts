import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { CrashPoint } from '../../src/core/faults.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import { secretStore } from '../../src/db/repos/secrets.js';
import { writeSettings } from '../../src/db/repos/settings.js';
import { roleBindings } from '../../src/db/schema.js';
import { createAesGcmBox, keyIdOf } from '../../src/secrets/aes-gcm-box.js';
import { type MdeMachine, type MdePeer, startMdePeer } from '../fakes/mde-peer.js';
import { type SlackPeer, startSlackPeer } from '../fakes/slack-peer.js';
import { SlackSigner } from '../fakes/slack-signer.js';
import { createTestDatabase } from '../helpers/db.js';
import {
  BOT_TOKEN,
  CLIENT_ID,
  CLIENT_SECRET,
  MASTER_KEY,
  SIGNING_SECRET,
  TENANT,
} from '../helpers/harness.js';
import { type RunningHostlock, startHostlock, stopHostlock } from '../helpers/process.js';
import { until as baseUntil } from '../helpers/until.js';

// The fault-injection suite (issue #9, reliability.md §9): real hostlock processes (`node --import
// tsx src/main.ts`, as `npm start` runs them) on one PostgreSQL database with the Slack and Defender
// peers in the test process. Children read their configuration from the environment only, so
// time is driven by moving rows' timestamps (`next_check_at`, an outbox lease), never by sleeping.

export const ALICE = 'U0ALICE001'; // responder who asks
export const BOB = 'U0BOB00001'; // responder who approves
export const REQUEST_CHANNEL = 'C0000CHAN';
export const APPROVER_CHANNEL = 'C0APPROVE1';
export const ALERTS = 'C0ALERTS01';

/** Agenda's lock lifetime (scheduler default) + processEvery + 10 s: reliability.md §9.2 R1. */
export const CONVERGE_BOUND_MS = 120_000 + 5_000 + 10_000;

/** The database a cluster runs on: a clone of the run's template, or one the test made itself. */
export type ClusterDatabase = DatabaseHandle & { url: string; dispose(): Promise<void> };

export interface Cluster {
  db: ClusterDatabase;
  slack: SlackPeer;
  mde: MdePeer;
  /** every child started, dead or alive, in start order */
  readonly children: RunningHostlock[];
  /** starts one more hostlock process on the cluster's database; `crashAt` arms HOSTLOCK_CRASH_AT */
  start(o?: { crashAt?: CrashPoint; env?: Record<string, string> }): Promise<RunningHostlock>;
  /** a Slack user simulator aimed at one child */
  signer(h: RunningHostlock): SlackSigner;
  /** a machine known to the Defender peer */
  machine(name: string): MdeMachine;
  /** isolate / unisolate POSTs the Defender peer received for a machine (any answer) */
  posts(kind: 'isolate' | 'unisolate', machineId?: string): number;
  /** alert-channel messages by event id (`event \`evt_…\`` in the text) */
  alertsByEvent(): Map<string, number>;
  settings(patch: Record<string, unknown>): Promise<void>;
  grant(role: string, userId: string): Promise<void>;
  /** lets Defender finish its pending actions and makes waiting lockdowns due (at most once a second) */
  drive(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The peers and a seeded database (Defender credentials sealed with the children's master key,
 * responders ALICE and BOB, alert channel ALERTS); children are started with `start()`.
 */
export async function bootCluster(o: { db?: ClusterDatabase } = {}): Promise<Cluster> {
  const db: ClusterDatabase = o.db ?? (await createTestDatabase());
  const slack = await startSlackPeer({ botToken: BOT_TOKEN });
  for (const [id, name] of [
    [REQUEST_CHANNEL, 'hostlock-test'],
    [APPROVER_CHANNEL, 'oncall-approvals'],
    [ALERTS, 'security-alerts'],
  ] as const) {
    slack.addChannel({ id, name, isMember: true });
  }
  // Throttling has its own tests; here the peer must not be the bottleneck (hostlock's own
  // budget of 90 calls a minute per process still applies).
  const mde = await startMdePeer({
    tls: inject('tlsCert'),
    rateLimit: { perMinute: 100_000, perHour: 1_000_000 },
  });
  mde.addApp({ tenantId: TENANT, clientId: CLIENT_ID, secret: CLIENT_SECRET, appName: 'hostlock' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-faults-'));
  const keyId = keyIdOf(MASTER_KEY);
  await secretStore(db.db, createAesGcmBox(MASTER_KEY, keyId), keyId).putAll(
    { mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, mde_client_secret: CLIENT_SECRET },
    'test',
  );
  const children: RunningHostlock[] = [];
  let lastDrive = 0;

  const cluster: Cluster = {
    db,
    slack,
    mde,
    children,
    async start(s = {}) {
      const h = await startHostlock({
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        HOSTLOCK_DATA_DIR: dataDir,
        HOSTLOCK_MASTER_KEY: MASTER_KEY.toString('base64'),
        DATABASE_URL: db.url,
        MDE_API_URL: mde.url,
        MDE_LOGIN_URL: mde.url,
        HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
        HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
        NODE_EXTRA_CA_CERTS: inject('tlsCert').certPath,
        LOG_LEVEL: 'debug',
        ...(s.crashAt ? { HOSTLOCK_CRASH_AT: s.crashAt } : {}),
        ...s.env,
      });
      children.push(h);
      if (h.logs.some((l) => l.msg === 'hostlock.start_failed')) {
        throw new Error(`hostlock did not start:\n${h.output.join('\n')}`);
      }
      return h;
    },
    signer: (h) =>
      new SlackSigner({ signingSecret: SIGNING_SECRET, eventsUrl: `${h.url}/slack/events`, peer: slack }),
    machine(name) {
      const m = mde.machine({ computerDnsName: name, osPlatform: 'Windows11' });
      mde.addMachines([m]);
      return m;
    },
    posts: (kind, machineId) =>
      mde.requests.filter(
        (r) =>
          r.method === 'POST' &&
          (machineId ? r.path.endsWith(`/machines/${machineId}/${kind}`) : r.path.endsWith(`/${kind}`)),
      ).length,
    alertsByEvent() {
      const counts = new Map<string, number>();
      for (const c of slack.callsTo('chat.postMessage')) {
        const id = /event `(evt_[^`]+)`/.exec(String(c.args.text ?? ''))?.[1];
        if (c.args.channel === ALERTS && c.status === 200 && id) {
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      return counts;
    },
    settings: (patch) => writeSettings(db.db, patch, 'test'),
    async grant(role, userId) {
      await db.db
        .insert(roleBindings)
        .values({ role, subjectType: 'user', subjectId: userId, grantedBy: 'test' })
        .onConflictDoNothing();
    },
    async drive() {
      mde.advanceActions();
      if (Date.now() - lastDrive < 1_000) {
        return;
      }
      lastDrive = Date.now();
      // the 15 s between Defender status checks "pass"
      await db.sql`update lockdowns set next_check_at = now()
        where state in ('isolating', 'releasing') and next_check_at > now()`;
    },
    async close() {
      await Promise.all(children.map((h) => killChild(h)));
      await Promise.all([slack.close(), mde.close()]);
      await db.dispose();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  await cluster.grant('responder', ALICE);
  await cluster.grant('responder', BOB);
  await cluster.settings({ approval_required: false, alert_channels: [ALERTS] });
  return cluster;
}

export function isAlive(h: RunningHostlock): boolean {
  return h.child.exitCode === null && h.child.signalCode === null;
}

/** SIGKILL (after SIGCONT, in case it was stopped) unless already gone. */
export async function killChild(h: RunningHostlock): Promise<void> {
  if (isAlive(h)) {
    h.child.kill('SIGCONT');
    h.child.kill('SIGKILL');
  }
  await h.exited;
}

/** SIGTERM and a clean exit (drain), as a rolling restart does. */
export async function stopChild(h: RunningHostlock): Promise<void> {
  if (isAlive(h)) {
    await stopHostlock(h, 'SIGTERM');
  }
}

/** Waits for a child armed with HOSTLOCK_CRASH_AT to kill itself there; returns when it is gone. */
export async function crashed(h: RunningHostlock, point: CrashPoint, timeoutMs = 60_000): Promise<number> {
  const timer = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no crash at ${point} within ${timeoutMs} ms:\n${h.output.join('\n')}`)),
      timeoutMs,
    ).unref(),
  );
  const { signal } = await Promise.race([h.exited, timer]);
  const at = Date.now();
  // 'exit' can come before the last lines of the pipes are read: wait for the crash's own line
  const said = () => h.logs.some((l) => l.msg === 'fault.crash' && l.point === point);
  await until(async () => said() || h.child.stdout?.readableEnded, 'the end of the output', 5_000);
  if (signal !== 'SIGKILL' || !said()) {
    throw new Error(`expected a crash at ${point}, got exit by ${signal}:\n${h.output.join('\n')}`);
  }
  return at;
}

/** `until` of test/helpers/until.ts with the longer default these scenarios need (process restarts). */
export const until = <T>(
  probe: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 30_000,
  each?: () => Promise<void>,
): Promise<T> => baseUntil(probe, what, timeoutMs, each);

export interface LockdownRow {
  id: string;
  state: string;
  mde_action_id: string | null;
  mde_release_action_id: string | null;
}

/** The newest lockdown of a machine. */
export async function lockdownOf(c: Cluster, machineId: string): Promise<LockdownRow | undefined> {
  const [row] = await c.db.sql<LockdownRow[]>`
    select id, state, mde_action_id, mde_release_action_id from lockdowns
    where machine_id = ${machineId} order by created_at desc limit 1`;
  return row;
}

/** Waits until the machine's newest lockdown is in `state`, driving Defender and the clock. */
export function untilLockdownState(
  c: Cluster,
  machineId: string,
  state: string,
  timeoutMs = 60_000,
): Promise<LockdownRow> {
  return until(
    async () => {
      const l = await lockdownOf(c, machineId);
      return l?.state === state ? l : null;
    },
    `the lockdown of ${machineId} to become ${state}`,
    timeoutMs,
    () => c.drive(),
  );
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * An active hostlock lockdown written straight into the database (a Succeeded Isolate tagged with
 * its id at the Defender peer), due to be released `dueIn` (a PostgreSQL interval) from now.
 */
export async function seedActiveLockdown(
  c: Cluster,
  o: { name: string; id: string; dueIn: string },
): Promise<{ id: string; machineId: string }> {
  const m = c.machine(o.name);
  const action = c.mde.addAction({
    machineId: m.id,
    type: 'Isolate',
    status: 'Succeeded',
    scope: 'Full',
    requestor: 'hostlock (contoso.onmicrosoft.com)',
    requestorComment: `[hostlock:${o.id}] hostlock lockdown`,
  });
  await c.db.sql`insert into lockdowns (id, machine_id, host_name, state, duration_minutes, requested_by,
      source, mde_action_id, locked_at, expires_at, next_check_at, reminded_at)
    values (${o.id}, ${m.id}, ${m.computerDnsName}, 'active', 60, ${`slack:${ALICE}`}, 'manual', ${action.id},
      now() - interval '1 hour', now() + ${o.dueIn}::interval, now() + ${o.dueIn}::interval, now())`;
  return { id: o.id, machineId: m.id };
}

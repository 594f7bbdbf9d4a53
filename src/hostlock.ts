import { webApi } from '@slack/bolt';
import { createApiRouter } from './api/router.js';
import { createHttpServer, createOpsServer, listen } from './api/server.js';
import { type Config, faultHookOf } from './config.js';
import { type Clock, systemClock } from './core/clock.js';
import { createLookupGuard } from './core/hosts/lookup-guard.js';
import type { LockdownDeps, LockdownTiming } from './core/lockdown/ports.js';
import { recordSuppression } from './core/lockdown/record-suppression.js';
import { bootstrapAdmins } from './core/roles/bootstrap-admins.js';
import { bindDefenderEndpoint } from './core/settings/bind-endpoint.js';
import { bootstrapDefender } from './core/settings/bootstrap-defender.js';
import type { DefenderVerifier } from './core/settings/ports.js';
import type { Store } from './core/store.js';
import { type CachedRead, cachedRead, listenForChanges } from './db/change-feed.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { hostStore } from './db/repos/hosts.js';
import { countIsolatingLockdowns, lockdownStore } from './db/repos/lockdowns.js';
import { mdeCallLedger } from './db/repos/mde-calls.js';
import { rewrapSecrets } from './db/repos/secrets.js';
import { readSettings } from './db/repos/settings.js';
import { claimSlackDelivery } from './db/repos/slack-deliveries.js';
import { type CachedTable, createStore } from './db/store.js';
import { startEngine } from './jobs/engine.js';
import type { createHostsSync } from './jobs/hosts-sync.js';
import { scheduleHostsSync, syncHostsNow } from './jobs/hosts-sync.js';
import type { createLockdownJobs } from './jobs/lockdown-jobs.js';
import type { Scheduler } from './jobs/scheduler.js';
import type { Logger } from './log.js';
import { defenderVerifier } from './mde/bootstrap.js';
import type { DefenderClientOptions } from './mde/client.js';
import { endpointId } from './mde/clouds.js';
import { portalLinkFor } from './mde/portal.js';
import { createDefenderProvider, type DefenderProvider } from './mde/provider.js';
import { cached, createMetrics, READINESS_CACHE_MS, readinessOf } from './metrics.js';
import type { OutboxWorker } from './notify/outbox-worker.js';
import { startOutbox } from './notify/start-outbox.js';
import { createAesGcmBox, keyIdOf } from './secrets/aes-gcm-box.js';
import { loadMasterKey } from './secrets/master-key.js';
import { createSlackAnnouncer, slackThreadPoster } from './slack/announcer.js';
import { SLACK_EVENTS_PATH } from './slack/app.js';
import type { SlackDeps } from './slack/deps.js';
import { createSlackSurface } from './slack/register.js';

/**
 * The longest a cached settings or role-binding read is served: the guarantee that a change is seen
 * in every replica within 1 s (issue #17), whatever becomes of the notifications that usually end
 * it within milliseconds.
 */
const CACHE_TTL_MS = 1_000;

/** A running hostlock: what main.ts stops on a signal and what integration tests drive. */
export interface Hostlock {
  readonly url: string;
  /** the operators' listener: /metrics and /readyz with details */
  readonly opsUrl: string;
  readonly database: DatabaseHandle;
  readonly scheduler: Scheduler;
  readonly defender: DefenderProvider;
  readonly hostsSync: ReturnType<typeof createHostsSync>;
  readonly lockdownJobs: ReturnType<typeof createLockdownJobs>;
  readonly outbox: OutboxWorker;
  readonly slackDeps: SlackDeps;
  /**
   * The in-memory settings and role bindings: `invalidate` makes the next read go to the database
   * (another process's change is usually heard from PostgreSQL within milliseconds, and is seen
   * within 1 s in any case; a writer that bypasses this process's store, such as a test writing
   * rows directly, says so here).
   */
  readonly caches: { invalidate(): void };
  /** the verbs' store (roles, tokens, settings, scores, audit, outbox) */
  readonly store: Store;
  /** stops taking requests and jobs, drains, closes; the database server itself is the caller's */
  stop(): Promise<void>;
}

export interface HostlockOptions {
  config: Config;
  databaseUrl: string;
  log: Logger;
  clock?: Clock;
  /** Agenda poll period; tests shorten it */
  processEvery?: string;
  /** run the first inventory sync at start (default) or only after one interval (tests drive it) */
  syncOnStart?: boolean;
  /** how long a settings submission waits for Defender before answering "verifying…" */
  settingsVerifyInlineMs?: number;
  /** how often each process looks for due lockdowns (default 1 s) */
  lockdownTickMs?: number;
  /** lockdown engine timings (tests shorten them) */
  lockdownTiming?: Partial<LockdownTiming>;
  /** Defender client tuning (tests shorten backoff) */
  defenderClient?: Partial<DefenderClientOptions>;
  /** how long one readiness answer is reused (default 1 s; tests that change state read it fresh) */
  readinessCacheMs?: number;
  /** REST requests a minute per token (tests lower it) */
  apiRatePerMinute?: number;
  /** outbox tuning (tests shorten the poll and the stale age) */
  outbox?: { pollMs?: number; staleAfterMs?: number; resendWindowMs?: number; retryBaseMs?: number };
}

/** Undelivered this long, an outbox row is reported in /readyz and the alert channels. */
const OUTBOX_STALE_MS = 24 * 3_600_000;

const BOOTSTRAP_LOG = {
  stored: 'mde.bootstrap_stored',
  already_configured: 'mde.bootstrap_skipped_already_configured',
} as const;

/** What is stopped, in reverse order, when hostlock stops or fails half-way through starting. */
type Cleanup = Array<() => Promise<void>>;

// The start order is the point of this function: read top to bottom, it is the order of start-up;
// each part is built by a helper below, and stop() undoes them in reverse.
/**
 * Assembles hostlock: migrations, secrets, bootstrap, jobs, Slack, HTTP. Everything it starts is
 * stopped by `stop()` in reverse order; a failure half-way stops what had started, then throws.
 */
export async function startHostlock(opts: HostlockOptions): Promise<Hostlock> {
  const { config, databaseUrl, log } = opts;
  const clock = opts.clock ?? systemClock;
  const cleanup: Cleanup = [];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((e: unknown) => log.error({ err: e }, 'hostlock.stop_step_failed'));
    }
  };
  try {
    await runMigrations(databaseUrl);
    const database = openDatabase(databaseUrl);
    cleanup.push(() => database.close());
    // Settings and role bindings are read on every command and click: kept in memory until a
    // commit changes them (issue #17): this process's own writes drop them when they commit,
    // every other writer's through the database's notifications.
    const caches: Partial<Record<CachedTable, CachedRead<unknown>>> = {};
    const { store, verifier } = await openStore(opts, database, clock, (t) => caches[t]?.invalidate());
    const settingsCache = cachedRead(() => readSettings(database.db), { ttlMs: CACHE_TTL_MS });
    const bindingsCache = cachedRead(() => store.roles.list(), { ttlMs: CACHE_TTL_MS });
    caches.settings = settingsCache;
    caches.role_bindings = bindingsCache;
    let listens = 0;
    const unlisten = await listenForChanges(database.sql, caches, {
      onListen: () => {
        if (listens++ > 0) {
          log.info({ reconnects: listens - 1 }, 'caches.listening_again'); // notifications missed meanwhile: caches dropped
        }
      },
    });
    cleanup.push(unlisten);
    const settings = () => settingsCache.get();
    // the lockdowns of a request of several hosts, for the one root message they share
    const requestRows = (requestId: string) => lockdownStore(database.db).ofRequest(requestId);
    const metrics = createMetrics(database.db);
    const defender = createDefenderProvider({
      secrets: store.secrets,
      settings,
      apiUrl: config.mde.apiUrl,
      loginUrl: config.mde.loginUrl,
      scope: config.mde.scope,
      endpoint: endpointId(config.mde),
      log: log.child({ component: 'mde' }),
      clientOptions: {
        observe: metrics.defenderCall,
        ...opts.defenderClient,
        // every replica spends one Defender budget, counted in the database (issue #15, item 8)
        budget: { ledger: mdeCallLedger(database.db), ...opts.defenderClient?.budget },
      },
    });
    cleanup.push(() => defender.close());
    const outbox = await startOutbox(
      {
        slack: config.slack,
        syslogCaFile: config.syslogCaFile,
        syslogSourceAddress: config.syslogSourceAddress,
        portalUrl: portalLinkFor(config.mde.cloud),
        log,
        staleAfterMs: opts.outbox?.staleAfterMs ?? OUTBOX_STALE_MS,
        ...(opts.outbox ? { tuning: opts.outbox } : {}),
        ...faultHookOf(config),
        threadPoster: (client) =>
          slackThreadPoster(
            client,
            log.child({ component: 'slack' }),
            async () => (await settings()).containmentEnabled,
            requestRows,
          ),
      },
      database,
      clock,
    );
    cleanup.push(() => outbox.stop());
    // one per-person Defender lookup quota for lookups and lock requests alike
    const lookupGuard = createLookupGuard({ clock });
    const announcer = createSlackAnnouncer({
      client: slackClient(config),
      settings,
      log: log.child({ component: 'slack' }),
      requestRows,
    });
    const engine = await startEngine(
      { ...opts, ...faultHookOf(config) },
      {
        database,
        defender,
        settings,
        clock,
        announce: announcer,
        lookupGuard,
        store,
      },
      cleanup,
    );
    const { agenda: _agenda, ...jobs } = engine;
    const slack = createSlackSurface({
      config: config.slack,
      log,
      client: slackClient(config),
      store,
      lockdown: engine.lockdown,
      hosts: hostStore(database.db),
      defender: (o) => defender.get(o),
      settings,
      roleBindings: () => bindingsCache.get(),
      settingsCore: {
        store,
        verifier,
        clock,
        endpoint: endpointId(config.mde),
        hosts: hostStore(database.db),
        isolatingLockdowns: () => countIsolatingLockdowns(database.db),
        onSaved: async (s, o) => {
          await scheduleHostsSync(engine.scheduler.agenda, s.pollMinutes, { skipImmediate: true });
          if (o.syncNow) {
            await syncHostsNow(engine.scheduler.agenda); // new credentials or a resume: not one interval later
          }
        },
      },
      portalUrl: portalLinkFor(config.mde.cloud),
      endpoint: { cloud: config.mde.cloud, apiUrl: config.mde.apiUrl },
      clock,
      claimDelivery: (key) => claimSlackDelivery(database.db, key),
      onCommand: (name) => metrics.slackCommand(name),
      lookupGuard,
      ...(opts.settingsVerifyInlineMs ? { verifyInlineMs: opts.settingsVerifyInlineMs } : {}),
    });
    const http = await serve(
      opts,
      { database, store, clock, metrics, slack, lockdown: engine.lockdown, approvals: announcer },
      cleanup,
    );
    await slack.surface.start();
    return {
      ...http,
      database,
      defender,
      outbox,
      ...jobs,
      slackDeps: slack.deps,
      caches: {
        invalidate() {
          settingsCache.invalidate();
          bindingsCache.invalidate();
        },
      },
      store,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The public HTTP server (Slack, REST API, health) and the operators' listener (metrics, readiness). */
async function serve(
  opts: HostlockOptions,
  p: {
    database: DatabaseHandle;
    store: Store;
    clock: Clock;
    metrics: ReturnType<typeof createMetrics>;
    slack: ReturnType<typeof createSlackSurface>;
    lockdown: LockdownDeps;
    approvals: ReturnType<typeof createSlackAnnouncer>;
  },
  cleanup: Cleanup,
): Promise<{ url: string; opsUrl: string }> {
  const { config, log } = opts;
  const { database, store, clock, metrics, slack } = p;
  const engine = { lockdown: p.lockdown };
  const readiness = cached(
    readinessOf({
      database,
      slack: slack.surface,
      approvals: p.approvals,
      clock,
      staleAfterMs: opts.outbox?.staleAfterMs ?? OUTBOX_STALE_MS,
    }),
    opts.readinessCacheMs ?? READINESS_CACHE_MS,
  );
  const server = createHttpServer({
    log,
    readiness,
    metrics, // the Slack ack timer; /metrics itself is on the ops listener only
    slackEvents: slack.surface.handleEvents
      ? {
          path: SLACK_EVENTS_PATH,
          signingSecret: config.slack.signingSecret ?? '',
          handle: slack.surface.handleEvents,
        }
      : undefined,
    api: createApiRouter({
      store,
      people: slack.people,
      lockdown: engine.lockdown,
      auto: { ...engine.lockdown, suppress: (s) => recordSuppression({ store, clock }, s) },
      log: log.child({ component: 'api' }),
      ...(opts.apiRatePerMinute ? { ratePerMinute: opts.apiRatePerMinute } : {}),
    }),
  });
  await listen(server, config.http, log);
  cleanup.push(() => slack.surface.stop());
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  const ops = createOpsServer({ readiness, metrics, log });
  await listen(ops, config.ops, log, 'ops.listening');
  cleanup.push(() => new Promise<void>((r) => ops.close(() => r())));
  const port = (server: ReturnType<typeof createHttpServer>, fallback: number) => {
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : fallback;
  };
  return {
    url: `http://127.0.0.1:${port(server, config.http.port)}`,
    opsUrl: `http://127.0.0.1:${port(ops, config.ops.port)}`,
  };
}

/**
 * The verbs' store with the master key (re-sealing secrets under it during a key rotation), and
 * the bootstrap of admins and Defender credentials from the environment.
 */
async function openStore(
  opts: HostlockOptions,
  database: DatabaseHandle,
  clock: Clock,
  changed: (table: CachedTable) => void,
): Promise<{ store: Store; verifier: DefenderVerifier }> {
  const { config, log } = opts;
  const master = await loadMasterKey({
    masterKeyBase64: config.masterKeyBase64,
    dataDir: config.dataDir,
    warn: (msg) => log.warn({}, msg),
  });
  const keyId = keyIdOf(master.key);
  const box = createAesGcmBox(master.key, keyId);
  const store = createStore(database.db, { box, keyId }, changed);
  if (config.previousMasterKeyBase64) {
    const previousKey = Buffer.from(config.previousMasterKeyBase64, 'base64');
    const previousId = keyIdOf(previousKey);
    const n = await rewrapSecrets(
      database.db,
      { box: createAesGcmBox(previousKey, previousId), keyId: previousId },
      { box, keyId },
    );
    log.info({ rewrapped: n, from: previousId, to: keyId }, 'secrets.rewrapped');
  }
  const admins = await bootstrapAdmins({ store }, config.admins);
  if (admins === 'admins_exist') {
    log.info({ listed: config.admins.length }, 'roles.bootstrap_skipped_admins_exist');
  } else {
    for (const userId of admins) {
      log.info({ userId, role: 'admin' }, 'roles.bootstrap_granted');
    }
  }
  if (!(await store.roles.list()).some((b) => b.role === 'admin')) {
    // first run (issue #16, item 9): without an admin nobody can configure Defender or grant roles
    log.warn({ hint: 'set HOSTLOCK_ADMINS to your Slack user id (U…) and restart' }, 'roles.no_admin');
  }
  const verifier = defenderVerifier(config.mde);
  const endpoint = endpointId(config.mde);
  if (config.mde.loopbackAllowed) {
    // a test setting: in production it would let the environment point Defender calls at this host
    log.warn(
      { apiUrl: config.mde.apiUrl, loginUrl: config.mde.loginUrl },
      'config.test_loopback_endpoints_allowed',
    );
  }
  // never bind older credentials to a loopback endpoint (the tests' setting) on trust
  const binding = config.mde.loopbackAllowed ? 'unchanged' : await bindDefenderEndpoint({ store }, endpoint);
  if (binding === 'moved') {
    // never sent elsewhere: an admin must enter the secret again for this endpoint
    log.error({ endpoint }, 'mde.endpoint_changed');
  } else if (binding === 'bound') {
    log.info({ endpoint }, 'mde.endpoint_bound');
  }
  if (config.mde.bootstrap) {
    // MDE_* credentials from the environment: verified and stored once, as if saved from the modal
    const r = await bootstrapDefender({ store, verifier, clock, endpoint }, config.mde.bootstrap);
    const mdeLog = log.child({ component: 'mde' });
    if (r.outcome === 'failed') {
      mdeLog.error({ code: r.code, reason: r.message }, 'mde.bootstrap_failed');
    } else {
      mdeLog.info(r.outcome === 'stored' ? { roles: r.roles } : {}, BOOTSTRAP_LOG[r.outcome]);
    }
  }
  return { store, verifier };
}

/** The Web API client of listeners and thread posts: a few quick retries, never a 30-minute wait. */
function slackClient(config: Config): webApi.WebClient {
  return new webApi.WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  });
}

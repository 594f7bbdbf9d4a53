import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import { webApi } from '@slack/bolt';
import { createApiRouter } from './api/router.js';
import { createHttpServer, type Readiness } from './api/server.js';
import type { Config } from './config.js';
import { type Clock, systemClock } from './core/clock.js';
import type { FaultHook } from './core/faults.js';
import { DEFAULT_TIMING, type LockdownDeps, type LockdownTiming } from './core/lockdown/ports.js';
import { recordSuppression } from './core/lockdown/record-suppression.js';
import { bootstrapAdmins } from './core/roles/bootstrap-admins.js';
import { bootstrapDefender } from './core/settings/bootstrap-defender.js';
import { type Credentials, MDE_SECRET_NAMES } from './core/settings/ports.js';
import type { Store } from './core/store.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { defenderReadiness } from './db/repos/defender-state.js';
import { hostStore } from './db/repos/hosts.js';
import { lockdownStore } from './db/repos/lockdowns.js';
import { outboxStats } from './db/repos/outbox.js';
import { rewrapSecrets } from './db/repos/secrets.js';
import { readSettings } from './db/repos/settings.js';
import { claimSlackDelivery } from './db/repos/slack-deliveries.js';
import { createStore } from './db/store.js';
import {
  createHostsSync,
  defineHostsSync,
  inventoryReadiness,
  scheduleHostsSync,
  syncHostsNow,
} from './jobs/hosts-sync.js';
import { createLockdownJobs } from './jobs/lockdown-jobs.js';
import { createScheduler, type Scheduler } from './jobs/scheduler.js';
import type { Logger } from './log.js';
import { defenderVerifier } from './mde/bootstrap.js';
import type { DefenderClientOptions } from './mde/client.js';
import { portalLinkFor } from './mde/portal.js';
import { createDefenderProvider, type DefenderProvider } from './mde/provider.js';
import { createMetrics } from './metrics.js';
import { createOutboxWorker, type OutboxWorker } from './notify/outbox-worker.js';
import { createAesGcmBox, keyIdOf } from './secrets/aes-gcm-box.js';
import { loadMasterKey } from './secrets/master-key.js';
import { registerLockdownActions } from './slack/actions/lockdown-actions.js';
import { createActorResolver } from './slack/actor.js';
import { createSlackAnnouncer } from './slack/announcer.js';
import { createSlack, SLACK_EVENTS_PATH } from './slack/app.js';
import { historySubcommand, listSubcommand } from './slack/commands/list.js';
import { lockSubcommand, unlockSubcommand } from './slack/commands/lock.js';
import { lookupSubcommand } from './slack/commands/lookup.js';
import { rolesSubcommand } from './slack/commands/roles.js';
import { tokenSubcommand } from './slack/commands/token.js';
import type { SlackDeps } from './slack/deps.js';
import { registerAppHomeOpened } from './slack/events/app-home-opened.js';
import { ActionId } from './slack/ids.js';
import {
  registerSettingsActions,
  registerSettingsView,
  type SettingsDeps,
  settingsSubcommand,
} from './slack/views/settings.js';
import { SETTINGS_CALLBACK_ID } from './slack/views/settings-form.js';
import { SettingsAction } from './slack/views/settings-view.js';
import { HOSTLOCK_VERSION } from './version.js';

/** How long stop() waits for running jobs before leaving them to another worker. */
const DRAIN_TIMEOUT_MS = 25_000;

/** A running hostlock: what main.ts stops on a signal and what integration tests drive. */
export interface Hostlock {
  readonly url: string;
  readonly database: DatabaseHandle;
  readonly scheduler: Scheduler;
  readonly defender: DefenderProvider;
  readonly hostsSync: ReturnType<typeof createHostsSync>;
  readonly lockdownJobs: ReturnType<typeof createLockdownJobs>;
  readonly outbox: OutboxWorker;
  readonly slackDeps: SlackDeps;
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
  /** REST requests a minute per token (tests lower it) */
  apiRatePerMinute?: number;
  /** outbox tuning (tests shorten the poll and the stale age) */
  outbox?: { pollMs?: number; staleAfterMs?: number; resendWindowMs?: number; retryBaseMs?: number };
}

/** Undelivered this long, an outbox row is reported in /readyz and the alert channels. */
const OUTBOX_STALE_MS = 24 * 3_600_000;

/**
 * Assembles hostlock: migrations, secrets, bootstrap, jobs, Slack, HTTP. Everything it starts is
 * stopped by `stop()` in reverse order; a failure half-way stops what had started, then throws.
 */
export async function startHostlock(opts: HostlockOptions): Promise<Hostlock> {
  const { config, databaseUrl, log } = opts;
  const clock = opts.clock ?? systemClock;
  const cleanup: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((e: unknown) => log.error({ err: e }, 'hostlock.stop_step_failed'));
    }
  };
  try {
    await runMigrations(databaseUrl);
    const database = openDatabase(databaseUrl);
    cleanup.push(() => database.close());

    const master = await loadMasterKey({
      masterKeyBase64: config.masterKeyBase64,
      dataDir: config.dataDir,
      warn: (msg) => log.warn({}, msg),
    });
    const keyId = keyIdOf(master.key);
    const box = createAesGcmBox(master.key, keyId);
    const store = createStore(database.db, { box, keyId });
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

    for (const userId of await bootstrapAdmins({ store }, config.admins)) {
      log.info({ userId, role: 'admin' }, 'roles.bootstrap_granted');
    }
    const verifier = defenderVerifier({ apiUrl: config.mde.apiUrl, loginUrl: config.mde.loginUrl });
    if (config.mde.bootstrap) {
      await bootstrapDefenderFromEnv(
        store,
        verifier,
        clock,
        config.mde.bootstrap,
        log.child({ component: 'mde' }),
      );
    }

    const settings = () => readSettings(database.db);
    const metrics = createMetrics(database.db);
    const defender = createDefenderProvider({
      credentials: async () => {
        const v = await store.secrets.getAll(MDE_SECRET_NAMES);
        return v.mde_tenant_id && v.mde_client_id && v.mde_client_secret
          ? { tenantId: v.mde_tenant_id, clientId: v.mde_client_id, clientSecret: v.mde_client_secret }
          : null;
      },
      settings,
      apiUrl: config.mde.apiUrl,
      loginUrl: config.mde.loginUrl,
      log: log.child({ component: 'mde' }),
      clientOptions: { observe: metrics.defenderCall, ...opts.defenderClient },
    });
    cleanup.push(() => defender.close());

    const scheduler = createScheduler({
      databaseUrl,
      log: log.child({ component: 'jobs' }),
      ...(opts.processEvery ? { processEvery: opts.processEvery } : {}),
    });
    const hostsSync = createHostsSync({
      database,
      defender,
      clock: clock,
      log: log.child({ component: 'jobs' }),
    });
    defineHostsSync(scheduler.agenda, hostsSync);

    const slackLog = log.child({ component: 'slack' });
    const slackClient = new webApi.WebClient(config.slack.botToken, {
      slackApiUrl: config.slack.apiUrl,
      retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    });
    const outbox = createOutboxWorker({
      database,
      slack: new webApi.WebClient(config.slack.botToken, {
        slackApiUrl: config.slack.apiUrl,
        rejectRateLimitedCalls: true, // the outbox waits out Retry-After itself, holding no request
        retryConfig: { retries: 0 },
        timeout: 10_000, // below the outbox lease: a hung call never outlives its claim
      }),
      syslog: {
        hostname: os.hostname(),
        version: HOSTLOCK_VERSION,
        procId: String(process.pid),
        ...(config.syslogCaFile ? { ca: await readFile(config.syslogCaFile, 'utf8') } : {}),
      },
      clock,
      log: log.child({ component: 'outbox' }),
      staleAfterMs: opts.outbox?.staleAfterMs ?? OUTBOX_STALE_MS,
      ...(opts.outbox?.pollMs ? { pollMs: opts.outbox.pollMs } : {}),
      ...(opts.outbox?.resendWindowMs ? { resendWindowMs: opts.outbox.resendWindowMs } : {}),
      ...(opts.outbox?.retryBaseMs ? { retryBaseMs: opts.outbox.retryBaseMs } : {}),
      ...crashHook(config),
    });
    await outbox.start();
    cleanup.push(() => outbox.stop());
    const lockdownJobs = createLockdownJobs(scheduler.agenda, log.child({ component: 'jobs' }));
    const lockdown: LockdownDeps = {
      lockdowns: lockdownStore(database.db),
      hosts: hostStore(database.db),
      defender: (o) => defender.get(o),
      settings,
      clock,
      announce: createSlackAnnouncer({ client: slackClient, settings, log: slackLog }),
      audit: store.audit,
      wake: lockdownJobs.wake,
      timing: { ...DEFAULT_TIMING, ...opts.lockdownTiming },
      ...crashHook(config),
    };
    lockdownJobs.define(lockdown);
    await scheduler.start();
    cleanup.push(async () => void (await scheduler.drain(DRAIN_TIMEOUT_MS)));
    await scheduleHostsSync(scheduler.agenda, (await settings()).pollMinutes, {
      skipImmediate: opts.syncOnStart === false,
    });
    await lockdownJobs.schedule();
    // Lockdowns that fell due while no process ran are taken up at once (the first tick), not at
    // the next minute's sweep, which another process may hold: row locks keep ticks from acting twice.
    lockdownJobs.startTicker(opts.lockdownTickMs ?? 1_000);
    cleanup.push(() => lockdownJobs.stop());
    const deps: SlackDeps = {
      lockdown,
      store,
      actors: createActorResolver({
        bindings: () => store.roles.list(),
        client: slackClient,
        log: slackLog,
      }),
      hosts: hostStore(database.db),
      defender: () => defender.get(),
      settings,
      portalUrl: portalLinkFor(config.mde.apiUrl),
      clock: clock,
      log: slackLog,
    };
    const settingsDeps: SettingsDeps = {
      slack: deps,
      client: slackClient,
      core: {
        store,
        verifier,
        clock,
        onSaved: async (s, o) => {
          await scheduleHostsSync(scheduler.agenda, s.pollMinutes, { skipImmediate: true });
          if (o.syncNow) {
            await syncHostsNow(scheduler.agenda); // new credentials or a resume: not one interval later
          }
        },
      },
      ...(opts.settingsVerifyInlineMs ? { verifyInlineMs: opts.settingsVerifyInlineMs } : {}),
    };
    const slack = createSlack({
      config: config.slack,
      log,
      subcommands: [
        lookupSubcommand(deps),
        lockSubcommand(deps),
        unlockSubcommand(deps),
        listSubcommand(deps),
        historySubcommand(deps),
        rolesSubcommand(deps),
        tokenSubcommand(deps),
        settingsSubcommand(settingsDeps),
      ],
      claimDelivery: (key) => claimSlackDelivery(database.db, key),
      routes: {
        views: { [SETTINGS_CALLBACK_ID]: 'mde_tenant_id' },
        actions: [...Object.values(ActionId), ...Object.values(SettingsAction)],
      },
      register: (app) => {
        registerAppHomeOpened(app, deps);
        registerLockdownActions(app, deps);
        registerSettingsView(app, settingsDeps);
        registerSettingsActions(app, settingsDeps);
      },
    });
    const readiness = async (): Promise<Readiness> => {
      const db = await database.ping();
      const s = slack.status();
      const mde = db ? await defenderReadiness(database.db) : { ok: false, state: 'unknown' };
      const inventory = db ? await inventoryReadiness(database) : { ok: false, lastSuccessAt: null };
      const staleMs = opts.outbox?.staleAfterMs ?? OUTBOX_STALE_MS;
      const backlog = db ? await outboxStats(database.db, clock.now(), staleMs) : null;
      // A SIEM that is down must not take the bot out of service: reported, not counted against readiness.
      const notifications = backlog
        ? { ok: Object.keys(backlog.stale).length === 0, ...backlog, staleAfterHours: staleMs / 3_600_000 }
        : { ok: false };
      return {
        ready: db && s.ok && mde.ok && inventory.ok,
        checks: { database: { ok: db }, slack: s, defender: mde, inventory, notifications },
      };
    };
    const server = createHttpServer({
      log,
      readiness,
      metrics,
      slackEvents: slack.handleEvents ? { path: SLACK_EVENTS_PATH, handle: slack.handleEvents } : undefined,
      api: createApiRouter({
        store,
        lockdown,
        auto: { ...lockdown, suppress: (s) => recordSuppression({ store, clock }, s) },
        log: log.child({ component: 'api' }),
        ...(opts.apiRatePerMinute ? { ratePerMinute: opts.apiRatePerMinute } : {}),
      }),
    });
    await listen(server, config.http, log);
    cleanup.push(() => slack.stop());
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    await slack.start();
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    return {
      url: `http://127.0.0.1:${port}`,
      database,
      scheduler,
      defender,
      hostsSync,
      lockdownJobs,
      outbox,
      slackDeps: deps,
      store,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** MDE_* credentials from the environment: verified and stored once, as if saved from the modal. */
async function bootstrapDefenderFromEnv(
  store: Store,
  verifier: ReturnType<typeof defenderVerifier>,
  clock: Clock,
  credentials: Credentials,
  log: Logger,
): Promise<void> {
  const r = await bootstrapDefender({ store, verifier, clock }, credentials);
  if (r.outcome === 'already_configured') {
    log.info({}, 'mde.bootstrap_skipped_already_configured');
  } else if (r.outcome === 'failed') {
    log.error({ code: r.code, reason: r.message }, 'mde.bootstrap_failed');
  } else {
    log.info({ roles: r.roles }, 'mde.bootstrap_stored');
  }
}

/** Tests only (`HOSTLOCK_CRASH_AT`): dies by SIGKILL at the named crash point, as `kill -9` would. */
function crashHook(config: Config): { faults?: FaultHook } {
  const at = config.crashAt;
  if (!at) {
    return {};
  }
  return {
    faults: (point) => {
      if (point === at) {
        // written synchronously: pino writes stdout asynchronously, so its line would die with us
        const line = {
          level: 40,
          time: new Date().toISOString(),
          service: 'hostlock',
          point,
          msg: 'fault.crash',
        };
        process.stderr.write(`${JSON.stringify(line)}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  };
}

function listen(server: http.Server, at: Config['http'], log: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      const addr = server.address();
      log.info(
        { port: typeof addr === 'object' && addr ? addr.port : at.port, host: at.host },
        'http.listening',
      );
      resolve();
    });
  });
}

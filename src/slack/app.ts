import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  App,
  AuthorizationError,
  type Authorize,
  HTTPReceiver,
  LogLevel,
  type Logger as SlackLogger,
  webApi,
} from '@slack/bolt';
import type { Config } from '../config.js';
import type { Permission } from '../core/permissions.js';
import type { Logger } from '../log.js';
import { registerHostlockCommand } from './commands/hostlock.js';
import type { Subcommand } from './commands/registry.js';
import { SlackIdentity, type SlackStatus } from './identity.js';
import { slackLogger } from './logger.js';
import { type ClaimDelivery, deliveryGate, type SlackRoutes } from './middleware.js';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackSurface {
  readonly app: App;
  readonly identity: SlackIdentity;
  /** HTTP mode: serves POST /slack/events (signature checked by Bolt). Undefined in Socket Mode. */
  readonly handleEvents: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** For /readyz: Slack answered auth.test and, in Socket Mode, the socket is connected. */
  status(): SlackStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SlackOptions {
  config: Config['slack'];
  log: Logger;
  subcommands?: Subcommand[];
  /** the caller's permissions, for a help that shows what they may use */
  permissionsOf?: (userId: string) => Promise<ReadonlySet<Permission>>;
  /** told of each /hostlock subcommand received, for metrics */
  onCommand?: (name: string) => void;
  /** registers actions, views and events on the app */
  register?: (app: App) => void;
  identityRetryMs?: number;
  /**
   * Takes a delivery key once across replicas (slack-deliveries repo): false for an exact replay of
   * a signed request or a retried event already taken. Without it, nothing is de-duplicated here.
   */
  claimDelivery?: ClaimDelivery;
  /** The view callback ids and block action ids listeners exist for; anything else is acked and dropped. */
  routes?: SlackRoutes;
}

/** The WebClient options, shared by Bolt's clients, with the logger Bolt also uses. */
type ClientOptions = webApi.WebClientOptions & { logger: SlackLogger };

/**
 * Bolt's `authorize`: our own workspace (or our Enterprise Grid org) only, from the identity
 * auth.test gave; refused while that is unknown.
 */
function authorizer(identity: SlackIdentity, config: Config['slack'], log: Logger): Authorize<boolean> {
  return async (source) => {
    const id = await identity.resolve();
    if (!id) {
      throw new AuthorizationError(
        'Slack identity unknown (auth.test failing)',
        new Error('auth.test failed'),
      );
    }
    // Another workspace is accepted only inside our own Enterprise Grid org (an org-wide install);
    // a payload that names no workspace at all is refused too (fails closed, issue #14 finding 11).
    const sameOrg = !!id.enterpriseId && source.enterpriseId === id.enterpriseId;
    if (source.teamId !== id.teamId && !sameOrg) {
      log.warn({ teamId: source.teamId ?? null }, 'slack.foreign_team_refused');
      throw new AuthorizationError(
        `request from another workspace (${source.teamId ?? 'none named'})`,
        new Error('foreign team'),
      );
    }
    return { botToken: config.botToken, botId: id.botId, botUserId: id.botUserId, teamId: id.teamId };
  };
}

/** HTTP mode: Bolt's receiver on {@link SLACK_EVENTS_PATH}, signature checked by Bolt. */
function httpReceiver(config: Config['slack'], log: Logger, logger: SlackLogger): HTTPReceiver {
  return new HTTPReceiver({
    signingSecret: config.signingSecret ?? '',
    endpoints: SLACK_EVENTS_PATH,
    logger,
    processBeforeResponse: false,
    // set by the HTTP server once it verified the signature (api/slack-route.ts): the timestamp
    // and the body's hash, what de-duplication keys a signed request by
    customPropertiesExtractor: (req) => ({
      slackDeliveryKey: (req as { hostlockDeliveryKey?: unknown }).hostlockDeliveryKey,
    }),
    // Bolt fails on some malformed payloads before any listener (500): the request is at fault
    processEventErrorHandler: async ({ error, response }) => {
      if (response.headersSent) {
        return false;
      }
      if (error instanceof AuthorizationError) {
        response.writeHead(401).end();
        return true;
      }
      log.warn({ err: error }, 'slack.request_unprocessable');
      response.writeHead(400).end();
      return true;
    },
  });
}

/** The Bolt app: Socket Mode when an app token is set, else HTTP mode with its receiver. */
function boltApp(
  config: Config['slack'],
  log: Logger,
  clientOptions: ClientOptions,
  authorize: Authorize<boolean>,
): { app: App; receiver: HTTPReceiver | undefined } {
  const { logger } = clientOptions;
  if (config.appToken) {
    const app = new App({
      socketMode: true,
      appToken: config.appToken,
      authorize,
      clientOptions,
      logger,
      logLevel: LogLevel.INFO,
    });
    return { app, receiver: undefined };
  }
  const receiver = httpReceiver(config, log, logger);
  return { app: new App({ receiver, authorize, clientOptions, logger }), receiver };
}

interface SocketConnection {
  /** why the socket is down: undefined once connected */
  error(): string | undefined;
  /** connects, retrying after a failure until it succeeds or `stop` is called */
  connect(): Promise<void>;
  stop(): Promise<void>;
}

/** Socket Mode connects out to Slack; a failed connect is logged, reported and retried, never fatal. */
function socketConnection(app: App, log: Logger, retryMs: number): SocketConnection {
  let socketError: string | undefined = 'Socket Mode not connected yet';
  let socketTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const connect = async (): Promise<void> => {
    try {
      await app.start();
      socketError = undefined;
      log.info({}, 'slack.socket_mode_connected');
    } catch (e) {
      socketError = `Socket Mode connection failed: ${e instanceof Error ? e.message : String(e)}`;
      log.error({ err: e }, 'slack.socket_mode_failed');
      if (!stopping) {
        socketTimer = setTimeout(() => void connect(), retryMs);
        socketTimer.unref();
      }
    }
  };
  return {
    error: () => socketError,
    connect,
    async stop() {
      stopping = true;
      clearTimeout(socketTimer);
      if (!socketError) {
        await app.stop().catch(() => {});
      }
    },
  };
}

/**
 * Bolt wired for hostlock: one workspace, our own `authorize` (no constructor-time auth.test that
 * could kill the process), requests from any other workspace refused, Bolt logging through pino.
 */
export function createSlack(opts: SlackOptions): SlackSurface {
  const { config, log } = opts;
  const clientOptions: ClientOptions = {
    slackApiUrl: config.apiUrl,
    // The outbox owns retries of notifications; interactive calls must fail fast, not wait 30 min.
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    logger: slackLogger(log),
  };
  const identity = new SlackIdentity(
    new webApi.WebClient(config.botToken, clientOptions),
    log.child({ component: 'slack' }),
    opts.identityRetryMs,
  );
  const { app, receiver } = boltApp(config, log, clientOptions, authorizer(identity, config, log));

  app.error(async (error) => {
    log.error({ err: error }, 'slack.listener_failed');
  });
  app.use(deliveryGate(opts.routes, opts.claimDelivery, log));
  registerHostlockCommand(
    app,
    log.child({ component: 'slack' }),
    opts.subcommands,
    undefined,
    opts.permissionsOf,
    opts.onCommand,
  );
  opts.register?.(app);

  const socket = config.appToken ? socketConnection(app, log, opts.identityRetryMs ?? 30_000) : undefined;
  return {
    app,
    identity,
    handleEvents: receiver?.requestListener,
    status() {
      const s = identity.status();
      const socketError = socket?.error();
      return socketError && s.ok ? { ...s, ok: false, error: socketError } : s;
    },
    async start() {
      await identity.start();
      // not awaited: the socket client may retry for a long time, and health must answer meanwhile
      void socket?.connect();
    },
    async stop() {
      identity.stop();
      await socket?.stop();
    },
  };
}

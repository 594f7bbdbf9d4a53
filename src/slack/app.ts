import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, AuthorizationError, type Authorize, HTTPReceiver, LogLevel, webApi } from '@slack/bolt';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { registerHostlockCommand } from './commands/hostlock.js';
import type { Subcommand } from './commands/registry.js';
import { SlackIdentity, type SlackStatus } from './identity.js';
import { slackLogger } from './logger.js';

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
  /** registers actions, views and events on the app */
  register?: (app: App) => void;
  identityRetryMs?: number;
}

/**
 * Bolt wired for hostlock: one workspace, our own `authorize` (no constructor-time auth.test that
 * could kill the process), requests from any other workspace refused, Bolt logging through pino.
 */
export function createSlack(opts: SlackOptions): SlackSurface {
  const { config, log } = opts;
  const logger = slackLogger(log);
  const clientOptions = {
    slackApiUrl: config.apiUrl,
    // The outbox owns retries of notifications; interactive calls must fail fast, not wait 30 min.
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    logger,
  };
  const identity = new SlackIdentity(
    new webApi.WebClient(config.botToken, clientOptions),
    log.child({ component: 'slack' }),
    opts.identityRetryMs,
  );

  const authorize: Authorize<boolean> = async (source) => {
    const id = await identity.resolve();
    if (!id) {
      throw new AuthorizationError(
        'Slack identity unknown (auth.test failing)',
        new Error('auth.test failed'),
      );
    }
    if (source.teamId && source.teamId !== id.teamId && !source.enterpriseId) {
      log.warn({ teamId: source.teamId }, 'slack.foreign_team_refused');
      throw new AuthorizationError(
        `request from another workspace (${source.teamId})`,
        new Error('foreign team'),
      );
    }
    return { botToken: config.botToken, botId: id.botId, botUserId: id.botUserId, teamId: id.teamId };
  };

  let receiver: HTTPReceiver | undefined;
  let app: App;
  if (config.appToken) {
    app = new App({
      socketMode: true,
      appToken: config.appToken,
      authorize,
      clientOptions,
      logger,
      logLevel: LogLevel.INFO,
    });
  } else {
    receiver = new HTTPReceiver({
      signingSecret: config.signingSecret ?? '',
      endpoints: SLACK_EVENTS_PATH,
      logger,
      processBeforeResponse: false,
    });
    app = new App({ receiver, authorize, clientOptions, logger });
  }

  app.error(async (error) => {
    log.error({ err: error }, 'slack.listener_failed');
  });
  registerHostlockCommand(app, log.child({ component: 'slack' }), opts.subcommands);
  opts.register?.(app);

  // Socket Mode connects out to Slack; a failed connect is logged, reported and retried, never fatal.
  let socketError: string | undefined = config.appToken ? 'Socket Mode not connected yet' : undefined;
  let socketTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const connectSocket = async (): Promise<void> => {
    try {
      await app.start();
      socketError = undefined;
      log.info({}, 'slack.socket_mode_connected');
    } catch (e) {
      socketError = `Socket Mode connection failed: ${e instanceof Error ? e.message : String(e)}`;
      log.error({ err: e }, 'slack.socket_mode_failed');
      if (!stopping) {
        socketTimer = setTimeout(() => void connectSocket(), opts.identityRetryMs ?? 30_000);
        socketTimer.unref();
      }
    }
  };

  return {
    app,
    identity,
    handleEvents: receiver?.requestListener,
    status() {
      const s = identity.status();
      return socketError && s.ok ? { ...s, ok: false, error: socketError } : s;
    },
    async start() {
      await identity.start();
      if (config.appToken) {
        // not awaited: the socket client may retry for a long time, and health must answer meanwhile
        void connectSocket();
      }
    },
    async stop() {
      stopping = true;
      identity.stop();
      clearTimeout(socketTimer);
      if (config.appToken && !socketError) {
        await app.stop().catch(() => {});
      }
    },
  };
}

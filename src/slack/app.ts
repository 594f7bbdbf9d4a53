import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, AuthorizationError, type Authorize, HTTPReceiver, LogLevel, webApi } from '@slack/bolt';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { registerHostlockCommand } from './commands/hostlock.js';
import type { Subcommand } from './commands/registry.js';
import { SlackIdentity } from './identity.js';
import { slackLogger } from './logger.js';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackSurface {
  readonly app: App;
  readonly identity: SlackIdentity;
  /** HTTP mode: serves POST /slack/events (signature checked by Bolt). Undefined in Socket Mode. */
  readonly handleEvents: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SlackOptions {
  config: Config['slack'];
  log: Logger;
  subcommands?: Subcommand[];
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

  return {
    app,
    identity,
    handleEvents: receiver?.requestListener,
    async start() {
      await identity.start();
      if (config.appToken) {
        // Socket Mode connects out to Slack; an unreachable Slack is logged and retried, not fatal.
        await app.start().catch((e: unknown) => log.error({ err: e }, 'slack.socket_mode_failed'));
      }
    },
    async stop() {
      identity.stop();
      if (config.appToken) {
        await app.stop().catch(() => {});
      }
    },
  };
}

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, AuthorizationError, type Authorize, HTTPReceiver, LogLevel, webApi } from '@slack/bolt';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { COMMAND, registerHostlockCommand } from './commands/hostlock.js';
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
  /**
   * Takes a delivery key once across replicas (slack-deliveries repo): false for an exact replay of
   * a signed request or a retried event already taken. Without it, nothing is de-duplicated here.
   */
  claimDelivery?: (key: string) => Promise<boolean>;
  /** The view callback ids and block action ids listeners exist for; anything else is acked and dropped. */
  routes?: { views: Record<string, string | null>; actions: readonly string[] };
}

const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why a (signed) payload cannot be handled, before any listener sees it: Slack never sends these,
 * but a listener reading them would throw before its ack and leave Slack waiting 3 s.
 */
function envelopeProblem(body: Record<string, unknown>, routes: SlackOptions['routes']): string | null {
  if (body.command !== undefined) {
    if (body.command !== COMMAND) {
      return 'unknown_command';
    }
    if (typeof body.user_id !== 'string' || !USER_ID.test(body.user_id)) {
      return 'bad_user_id';
    }
    return body.text === undefined || typeof body.text === 'string' ? null : 'bad_text';
  }
  if (body.type === 'event_callback' || body.type === 'url_verification') {
    return null;
  }
  const user = isRecord(body.user) ? body.user.id : undefined;
  if (typeof user !== 'string' || !USER_ID.test(user)) {
    return 'bad_user_id';
  }
  if (body.type === 'view_submission' || body.type === 'view_closed') {
    const view = isRecord(body.view) ? body.view : {};
    if (typeof view.callback_id !== 'string' || !routes || !(view.callback_id in routes.views)) {
      return 'unknown_view';
    }
    if (view.private_metadata !== undefined && typeof view.private_metadata !== 'string') {
      return 'bad_private_metadata';
    }
    const state = isRecord(view.state) ? view.state.values : undefined;
    return body.type === 'view_closed' || isRecord(state) ? null : 'bad_view_state';
  }
  if (body.type === 'block_actions') {
    const actions = Array.isArray(body.actions) ? body.actions : [];
    const known = actions.every(
      (a) => isRecord(a) && typeof a.action_id === 'string' && routes?.actions.includes(a.action_id),
    );
    return actions.length > 0 && known ? null : 'unknown_action';
  }
  return 'unknown_type';
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
    // Another workspace is accepted only inside our own Enterprise Grid org (an org-wide install).
    const sameOrg = !!id.enterpriseId && source.enterpriseId === id.enterpriseId;
    if (source.teamId && source.teamId !== id.teamId && !sameOrg) {
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
      // verified by Bolt by the time middleware reads it from the context
      customPropertiesExtractor: (req) => ({ slackSignature: req.headers['x-slack-signature'] }),
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
    app = new App({ receiver, authorize, clientOptions, logger });
  }

  app.error(async (error) => {
    log.error({ err: error }, 'slack.listener_failed');
  });
  app.use(async ({ body, context, ack, next }) => {
    const payload = body as unknown as Record<string, unknown>;
    const problem = envelopeProblem(payload, opts.routes);
    if (problem) {
      log.warn({ reason: problem, type: payload.type ?? 'command' }, 'slack.payload_refused');
      const view = isRecord(payload.view) ? payload.view : {};
      const errorBlock = typeof view.callback_id === 'string' ? opts.routes?.views[view.callback_id] : null;
      await ack?.(
        (payload.command !== undefined
          ? { response_type: 'ephemeral', text: 'hostlock could not read that request.' }
          : payload.type === 'view_submission' && errorBlock
            ? {
                response_action: 'errors',
                errors: { [errorBlock]: 'hostlock could not read this form: open it again.' },
              }
            : undefined) as never,
      );
      return;
    }
    const eventId = typeof payload.event_id === 'string' ? payload.event_id : undefined;
    const signature = typeof context.slackSignature === 'string' ? context.slackSignature : undefined;
    const key = eventId
      ? `event:${eventId}`
      : signature
        ? `sig:${createHash('sha256').update(signature).digest('hex')}`
        : undefined;
    if (key && opts.claimDelivery && !(await opts.claimDelivery(key))) {
      log.info({ key, retryNum: context.retryNum }, 'slack.duplicate_delivery_dropped');
      await ack?.(
        (payload.command !== undefined
          ? { response_type: 'ephemeral', text: 'hostlock already received this request.' }
          : undefined) as never,
      );
      return;
    }
    await next();
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

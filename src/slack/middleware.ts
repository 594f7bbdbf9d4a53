import type { AnyMiddlewareArgs, Context, Middleware } from '@slack/bolt';
import type { Logger } from '../log.js';
import { COMMAND } from './commands/hostlock.js';

/** The view callback ids (each with the block that shows a form error) and block action ids listened to. */
export interface SlackRoutes {
  views: Record<string, string | null>;
  actions: readonly string[];
  /** callback_ids of the message shortcuts listened to */
  shortcuts?: readonly string[];
}

/** Takes a delivery key once across replicas; false when it was already taken. */
export type ClaimDelivery = (key: string) => Promise<boolean>;

type Payload = Record<string, unknown>;
/** Acks with `response` (`undefined`: an empty ack); a no-op for events, which Bolt acks itself. */
type Answer = (response: object | undefined) => Promise<void>;

const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why a (signed) payload cannot be handled, before any listener sees it: Slack never sends these,
 * but a listener reading them would throw before its ack and leave Slack waiting 3 s.
 */
function envelopeProblem(body: Payload, routes: SlackRoutes | undefined): string | null {
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
  if (body.type === 'message_action') {
    if (typeof body.callback_id !== 'string' || !routes?.shortcuts?.includes(body.callback_id)) {
      return 'unknown_shortcut';
    }
    return isRecord(body.message) && typeof body.response_url === 'string' ? null : 'bad_message';
  }
  return 'unknown_type';
}

/**
 * Acks a payload no listener could read, with a line for the user where Slack shows one: true
 * when the payload was refused.
 */
async function refuseUnreadable(
  payload: Payload,
  routes: SlackRoutes | undefined,
  log: Logger,
  answer: Answer,
): Promise<boolean> {
  const problem = envelopeProblem(payload, routes);
  if (!problem) {
    return false;
  }
  log.warn({ reason: problem, type: payload.type ?? 'command' }, 'slack.payload_refused');
  const view = isRecord(payload.view) ? payload.view : {};
  const errorBlock = typeof view.callback_id === 'string' ? routes?.views[view.callback_id] : null;
  await answer(
    payload.command !== undefined
      ? { response_type: 'ephemeral', text: 'hostlock could not read that request.' }
      : payload.type === 'view_submission' && errorBlock
        ? {
            response_action: 'errors',
            errors: { [errorBlock]: 'hostlock could not read this form: open it again.' },
          }
        : undefined,
  );
  return true;
}

/**
 * Acks a delivery already taken (a retried event by its id, a replayed request by its signature,
 * which Bolt has verified by now) without running it again: true when it was dropped.
 */
async function dropDuplicate(
  payload: Payload,
  context: Context,
  claimDelivery: ClaimDelivery | undefined,
  log: Logger,
  answer: Answer,
): Promise<boolean> {
  const eventId = typeof payload.event_id === 'string' ? payload.event_id : undefined;
  // A workflow step's execution is one delivery whatever event carries it (issue #18, item 3);
  // an event is one delivery however often Slack retries it; any other signed request is one
  // delivery per timestamp and body (not per signature header, which can be decorated).
  const event = isRecord(payload.event) ? payload.event : {};
  const execution =
    event.type === 'function_executed' && typeof event.function_execution_id === 'string'
      ? event.function_execution_id
      : undefined;
  const delivery = typeof context.slackDeliveryKey === 'string' ? context.slackDeliveryKey : undefined;
  const key = execution
    ? `function:${execution}`
    : eventId
      ? `event:${eventId}`
      : delivery
        ? `req:${delivery}`
        : undefined;
  if (!key || !claimDelivery || (await claimDelivery(key))) {
    return false;
  }
  log.info({ key, retryNum: context.retryNum }, 'slack.duplicate_delivery_dropped');
  await answer(
    payload.command !== undefined
      ? { response_type: 'ephemeral', text: 'hostlock already received this request.' }
      : undefined,
  );
  return true;
}

/**
 * The first global middleware: unreadable payloads and duplicate deliveries are acked and stop
 * here, so no listener sees them.
 */
export function deliveryGate(
  routes: SlackRoutes | undefined,
  claimDelivery: ClaimDelivery | undefined,
  log: Logger,
): Middleware<AnyMiddlewareArgs> {
  return async ({ body, context, ack, next }) => {
    const payload = body as unknown as Payload;
    const answer: Answer = async (response) => {
      await ack?.(response as never);
    };
    if (await refuseUnreadable(payload, routes, log, answer)) {
      return;
    }
    if (await dropDuplicate(payload, context, claimDelivery, log, answer)) {
      return;
    }
    await next();
  };
}

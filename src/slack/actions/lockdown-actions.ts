import type { App, BlockAction, RespondArguments } from '@slack/bolt';
import { confirmLockdown } from '../../core/lockdown/confirm-lockdown.js';
import { decideLockdown, decideRequest } from '../../core/lockdown/decide-lockdown.js';
import { extendLockdown } from '../../core/lockdown/extend-lockdown.js';
import { releaseLockdown, releaseRequest } from '../../core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../core/lockdown/request-lockdown.js';
import { codeSafe } from '../../core/mrkdwn.js';
import { can, type Permission } from '../../core/permissions.js';
import type { SlackActor } from '../actor.js';
import { lookupFromDefender } from '../commands/lookup.js';
import { refuse, type SlackDeps } from '../deps.js';
import { ActionId, parseBlockId, parseDuration, parseLockChoice, REQUEST_ID } from '../ids.js';
import {
  confirmRefusal,
  decisionRefusal,
  extendRefusal,
  releaseRefusal,
  requestRefusal,
  unlockAnswer,
} from '../lockdown-replies.js';

const LOCKDOWN_ID = /^lck_[a-z0-9]{1,40}$/;

type Clicked = BlockAction['actions'][number];

/** The lockdown a click names: the button's value, else the block id; nothing else is trusted. */
function lockdownIdOf(action: Clicked): string | null {
  const value = 'value' in action && typeof action.value === 'string' ? action.value : undefined;
  if (value && LOCKDOWN_ID.test(value)) {
    return value;
  }
  const parsed = parseBlockId(action.block_id);
  return parsed?.kind === 'lockdown' && LOCKDOWN_ID.test(parsed.id) ? parsed.id : null;
}

/**
 * The request of several hosts a click names (issue #18, item 2): the button's value when it is a
 * request id and the block says the same request; nothing else is trusted.
 */
function requestIdOf(action: Clicked): string | null {
  const value = 'value' in action && typeof action.value === 'string' ? action.value : undefined;
  const parsed = parseBlockId(action.block_id);
  return value && REQUEST_ID.test(value) && parsed?.kind === 'request' && parsed.id === value ? value : null;
}

const selected = (action: Clicked) =>
  'selected_option' in action && action.selected_option ? action.selected_option.value : undefined;

/** What a click handler sees once the clicker's permission has been checked. */
interface Click {
  /** the clicker as resolved for this click (roles and user groups), the one whose permission was checked */
  actor: SlackActor;
  action: Clicked;
  channelId: string | null;
}

/**
 * Answers a click: the text to tell the clicker, a whole message that replaces the one clicked (a
 * refreshed host card), or null to say nothing.
 */
type ClickHandler = (c: Click) => Promise<string | { replace: RespondArguments } | null>;

/**
 * Registers `run` for `actionId`: acks at once, re-reads the clicker's permissions, and sends any
 * refusal, answer or failure back ephemerally to the clicker only.
 */
function handle(app: App, deps: SlackDeps, actionId: string, needs: Permission, run: ClickHandler): void {
  app.action<BlockAction>(actionId, async ({ ack, body, action, respond }) => {
    await ack();
    const reply = async (text: string) => {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text,
      } as RespondArguments).catch((e: unknown) => deps.log.warn({ err: e }, 'slack.respond_failed'));
    };
    try {
      const actor = await deps.actors.resolve(body.user.id);
      if (!can(actor, needs)) {
        await reply(await refuse(deps, actor, needs, actionId));
        return;
      }
      const answer = await run({ actor, action, channelId: body.channel?.id ?? null });
      if (typeof answer === 'string') {
        await reply(answer);
      } else if (answer) {
        await respond({ ...answer.replace, replace_original: true } as RespondArguments).catch((e: unknown) =>
          deps.log.warn({ err: e }, 'slack.respond_failed'),
        );
      }
    } catch (e) {
      deps.log.error({ err: e, actionId }, 'slack.action_failed');
      await reply(
        'hostlock could not handle that click just now; it has been logged. Try again in a minute.',
      );
    }
  });
}

/** Approve or Deny on an approval request. */
const decide =
  (deps: SlackDeps, decision: 'approve' | 'deny'): ClickHandler =>
  async (c) => {
    const actor = c.actor;
    const requestId = requestIdOf(c.action);
    if (requestId) {
      const r = await decideRequest(deps.lockdown, { actor, requestId, decision });
      return r.ok ? null : decisionRefusal(r.error, r.current);
    }
    const id = lockdownIdOf(c.action);
    if (!id) {
      return 'That button does not name a lockdown.';
    }
    const r = await decideLockdown(deps.lockdown, { actor, lockdownId: id, decision });
    return r.ok ? null : decisionRefusal(r.error, r.current);
  };

/**
 * Confirm on the DM a workflow's request sends its requester (issue #18, item 3): only they may,
 * once; then the request goes to the approvers, and the DM's buttons give way to what happened.
 */
const confirm =
  (deps: SlackDeps): ClickHandler =>
  async (c) => {
    const id = lockdownIdOf(c.action);
    if (!id) {
      return 'That button does not name a lockdown.';
    }
    const r = await confirmLockdown(deps.lockdown, {
      actor: c.actor,
      lockdownId: id,
    });
    if (!r.ok) {
      return confirmRefusal(r.error, r.current);
    }
    const l = r.value.lockdown;
    const where = l.approvalChannel ? ` in <#${l.approvalChannel}>` : '';
    const problem = r.value.postProblem ? `\n:warning: ${r.value.postProblem}` : '';
    return {
      replace: {
        text: `Confirmed: the request to lock \`${codeSafe(l.hostName)}\` (lockdown \`${l.id}\`) is with the approvers${where}.${problem}`,
      },
    };
  };

/** Unlock on a lockdown message or a host card. */
const unlock =
  (deps: SlackDeps): ClickHandler =>
  async (c) => {
    const actor = c.actor;
    const requestId = requestIdOf(c.action);
    if (requestId) {
      const r = await releaseRequest(deps.lockdown, { actor, requestId });
      if (!r.ok) {
        return releaseRefusal(r.error);
      }
      // what happened to each host, one line each (a host already ended says so)
      return r.value
        .map((one) => (one.ok ? unlockAnswer(one.value) : releaseRefusal(one.error, one.current)))
        .join('\n');
    }
    const id = lockdownIdOf(c.action);
    if (!id) {
      return 'That button does not name a lockdown.';
    }
    const r = await releaseLockdown(deps.lockdown, { actor, lockdownId: id });
    return r.ok ? unlockAnswer(r.value) : releaseRefusal(r.error, r.current);
  };

/** The Extend select on a lockdown message. */
const extend =
  (deps: SlackDeps): ClickHandler =>
  async (c) => {
    const id = lockdownIdOf(c.action);
    const hours = parseDuration(selected(c.action) ?? '');
    if (!id || !hours) {
      return 'Choose one of the preset durations to extend by.';
    }
    const r = await extendLockdown(deps.lockdown, {
      actor: c.actor,
      lockdownId: id,
      hours,
    });
    return r.ok ? null : extendRefusal(r.error, r.current);
  };

/** The Lock select on a host card. */
const lockHost =
  (deps: SlackDeps): ClickHandler =>
  async (c) => {
    const target = parseBlockId(c.action.block_id);
    const choice = parseLockChoice(selected(c.action) ?? '');
    if (target?.kind !== 'host' || !choice) {
      return 'Choose one of the preset durations from the host card.';
    }
    const hours = choice.hours;
    const r = await requestLockdown(deps.lockdown, {
      actor: c.actor,
      query: { kind: 'machine_id', value: target.id.toLowerCase() },
      durationHours: hours,
      reason: '',
      source: 'manual',
      channel: c.channelId,
      isolationType: choice.selective ? 'Selective' : 'Full',
    });
    if (!r.ok) {
      return requestRefusal(r);
    }
    const l = r.value.lockdown;
    return l.state === 'pending_approval'
      ? `Lockdown \`${l.id}\` requested for ${hours} h; waiting for approval.`
      : `Lockdown \`${l.id}\` approved; isolating through Defender.`;
  };

/** Refresh on a host card: the machine re-read from Defender, the card replaced. */
const refreshHost =
  (deps: SlackDeps): ClickHandler =>
  async (c) => {
    const target = parseBlockId(c.action.block_id);
    if (target?.kind !== 'host') {
      return 'That button does not name a host.';
    }
    const actor = c.actor;
    return {
      replace: await lookupFromDefender(
        deps,
        actor,
        { kind: 'machine_id', value: target.id.toLowerCase() },
        true,
      ),
    };
  };

/**
 * Buttons and selects on lockdown messages and host cards. Each click is acknowledged at once,
 * then re-reads the clicker's permissions and the row; refusals go back ephemerally, to the clicker
 * only, and change nothing.
 */
export function registerLockdownActions(app: App, deps: SlackDeps): void {
  handle(app, deps, ActionId.lockdownApprove, 'lockdown:approve', decide(deps, 'approve'));
  handle(app, deps, ActionId.lockdownDeny, 'lockdown:approve', decide(deps, 'deny'));
  handle(app, deps, ActionId.lockdownUnlock, 'lockdown:edit', unlock(deps));
  handle(app, deps, ActionId.lockdownConfirm, 'lockdown:edit', confirm(deps));
  handle(app, deps, ActionId.lockdownExtend, 'lockdown:edit', extend(deps));
  handle(app, deps, ActionId.hostLock, 'lockdown:edit', lockHost(deps));
  handle(app, deps, ActionId.hostRefresh, 'lockdown:view', refreshHost(deps));
}

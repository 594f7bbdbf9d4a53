import type { App, types } from '@slack/bolt';
import { parseHostQuery } from '../../core/hosts/parse-host-query.js';
import { releaseLockdown } from '../../core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../core/lockdown/request-lockdown.js';
import type { Lockdown } from '../../core/lockdown/types.js';
import { codeSafe } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import { actionButton } from '../blocks/format.js';
import { COMMANDS_PER_MINUTE } from '../commands/hostlock.js';
import { refuse, type SlackDeps } from '../deps.js';
import { ActionId, DURATION_VALUES, FunctionId, lockdownBlockId, parseDuration } from '../ids.js';
import { requestRefusal } from '../lockdown-replies.js';
import type { PersonRate } from '../shortcuts/rate.js';

const MAX_REASON = 500;
const MAX_HOST = 255;
const USER_ID = /^[UW][A-Z0-9]{2,30}$/;

/** What the step's inputs say, checked; or what is wrong with them, in words for the workflow's log. */
type Parsed =
  | { ok: true; userId: string; host: string; hours: number; reason: string }
  | { ok: false; error: string };

/**
 * The step's inputs (manifest `functions.lock_host`): `host`, `duration` (`1h` … `24h`), `reason`,
 * and `user_context`, the person who ran the workflow. Workflow Builder never lets a builder set a
 * user_context by hand (Slack fills it from the person's own action), so it is the requester.
 */
function parseInputs(inputs: Record<string, unknown>): Parsed {
  const ctx = inputs.user_context;
  const userId =
    typeof ctx === 'object' && ctx !== null && typeof (ctx as { id?: unknown }).id === 'string'
      ? (ctx as { id: string }).id
      : '';
  if (!USER_ID.test(userId)) {
    return {
      ok: false,
      error:
        'hostlock needs to know who runs this workflow: start it from a person’s action (a link or a button), so Slack passes the user context.',
    };
  }
  const host = typeof inputs.host === 'string' ? inputs.host.trim() : '';
  if (!host || host.length > MAX_HOST) {
    return { ok: false, error: 'Name the host to lock: its name, an IP address or its Defender machine id.' };
  }
  const hours = parseDuration(
    typeof inputs.duration === 'string' ? inputs.duration.trim().toLowerCase() : '',
  );
  if (!hours) {
    return { ok: false, error: `The duration must be one of ${DURATION_VALUES.join(', ')}.` };
  }
  const reason = typeof inputs.reason === 'string' ? inputs.reason.trim() : '';
  if (reason.length > MAX_REASON) {
    return { ok: false, error: `Keep the reason under ${MAX_REASON} characters.` };
  }
  return { ok: true, userId, host, hours, reason };
}

/**
 * Slack markup out of a sentence: the workflow's activity log shows errors as plain text. A
 * mention or channel (`<@U1>`, `<#C1|ops>`, `<!subteam^S1|@oncall>`) becomes its label or id.
 */
export const plain = (text: string): string =>
  text
    .replace(/`/g, '')
    .replace(
      /<([@#!])(?:subteam\^)?([A-Za-z0-9]+)(?:\|([^>]*))?>/g,
      (_, sigil: string, id: string, label?: string) =>
        label ? label : `${sigil === '!' ? '@' : sigil}${id}`,
    );

/** Workflow and step execution ids as Slack issues them (`Wx…`, `Fx…`), kept only when they look like one. */
const EXECUTION_ID = /^(?:Wx|Fx)[A-Za-z0-9]{1,40}$/;

/** The workflow run a step belongs to: its `Wx…` id, else the step's own `Fx…` execution id. */
function workflowRun(body: unknown): string {
  const event = (body as { event?: { workflow_execution_id?: unknown; function_execution_id?: unknown } })
    .event;
  for (const id of [event?.workflow_execution_id, event?.function_execution_id]) {
    if (typeof id === 'string' && EXECUTION_ID.test(id)) {
      return id;
    }
  }
  return 'unknown';
}

const confirmText = (host: string, hours: number, l: Lockdown, run: string) =>
  `A Workflow Builder step (run \`${run}\`) asks in your name to lock \`${codeSafe(host)}\` for ${hours} h (lockdown \`${l.id}\`). Nothing is sent to the approvers until you confirm it; cancel it if you did not mean to.`;

/** The person's DM: Confirm (then approvers are asked) or Cancel (the request is withdrawn). */
function confirmBlocks(host: string, hours: number, l: Lockdown, run: string): types.KnownBlock[] {
  const button = (actionId: string, text: string, style?: 'primary' | 'danger') =>
    actionButton(actionId, text, l.id, style);
  return [
    { type: 'section', text: { type: 'mrkdwn', text: confirmText(host, hours, l, run) } },
    {
      type: 'actions',
      block_id: lockdownBlockId(l.id),
      elements: [
        button(ActionId.lockdownConfirm, 'Confirm: ask the approvers', 'primary'),
        button(ActionId.lockdownUnlock, 'Cancel', 'danger'),
      ],
    },
  ];
}

/**
 * The Workflow Builder step "Lock a host" (issue #18, item 3; function `lock_host`): the same
 * request as `/hostlock lock`, made by the person whose action ran the workflow, through the same
 * verb (their permission at this moment, exclusions, the Defender budget) and within their
 * per-minute rate, each host named in full. The person may only have clicked a workflow's button
 * that said nothing of a lockdown (Slack passes the clicker's user_context on), and the workflow's
 * builder may be an approver: so the request is recorded as `workflow:<run>`, waits for the
 * person's own Confirm in a DM before any approver sees it, then for an approver whatever the
 * settings say. Completes with the lockdown's id and `pending_approval`; any refusal fails the
 * step with the reason. One execution is handled once (the delivery gate drops a repeat of its id).
 */
export function registerLockHostStep(app: App, deps: SlackDeps, rate: PersonRate): void {
  app.function(FunctionId.lockHost, async ({ inputs, complete, fail, client, body }) => {
    const finish = async (r: { outputs: Record<string, string> } | { error: string }) => {
      try {
        await ('outputs' in r ? complete({ outputs: r.outputs }) : fail({ error: r.error }));
      } catch (e) {
        deps.log.error({ err: e }, 'workflow_step.complete_failed');
      }
    };
    try {
      const parsed = parseInputs((inputs ?? {}) as Record<string, unknown>);
      if (!parsed.ok) {
        await finish({ error: parsed.error });
        return;
      }
      const waitMs = rate.take(parsed.userId);
      if (waitMs > 0) {
        await finish({
          error: `Too many requests from this person (${COMMANDS_PER_MINUTE} a minute): run it again in ${Math.ceil(waitMs / 1000)} s.`,
        });
        return;
      }
      const actor = await deps.actors.resolve(parsed.userId);
      if (!can(actor, 'lockdown:edit')) {
        await finish({ error: plain(await refuse(deps, actor, 'lockdown:edit', 'workflow_step.lock_host')) });
        return;
      }
      const query = parseHostQuery(parsed.host);
      if (!query.ok) {
        await finish({ error: 'That is not a host name, an IP address or a Defender machine id.' });
        return;
      }
      const run = workflowRun(body);
      const r = await requestLockdown(deps.lockdown, {
        actor,
        query: query.query,
        durationHours: parsed.hours,
        reason: parsed.reason,
        source: 'manual',
        channel: null,
        exact: true,
        // recorded as coming from a workflow; the person confirms it before any approver sees it
        origin: { via: `workflow:${run}`, confirm: true },
      });
      if (!r.ok) {
        await finish({
          error:
            r.error === 'no_approver_channel'
              ? 'A request from a workflow always goes to an approver, and no approver channel (nor alert channel) is set: an admin must pick one in /hostlock settings.'
              : plain(requestRefusal(r)),
        });
        return;
      }
      const l = r.value.lockdown;
      // the person confirms (or cancels) what was asked in their name: a workflow's button need not
      // have said it locks a host, and its builder may be an approver
      const asked = await client.chat
        .postMessage({
          channel: parsed.userId,
          text: confirmText(r.value.host.name, parsed.hours, l, run),
          blocks: confirmBlocks(r.value.host.name, parsed.hours, l, run),
          unfurl_links: false,
        })
        .then(() => true)
        .catch((e: unknown) => {
          deps.log.warn({ err: e, lockdownId: l.id }, 'workflow_step.dm_failed');
          return false;
        });
      if (!asked) {
        // nobody could confirm it: it must not wait, unseen, until it expires
        await releaseLockdown(deps.lockdown, {
          actor,
          lockdownId: l.id,
          reason: 'the requester could not be asked to confirm',
        });
        await finish({
          error:
            'hostlock could not ask you to confirm the request in a direct message, so it was withdrawn. Run it again.',
        });
        return;
      }
      await finish({ outputs: { lockdown_id: l.id, state: l.state } });
    } catch (e) {
      deps.log.error({ err: e }, 'workflow_step.failed');
      await finish({
        error: 'hostlock could not handle this step just now; it has been logged. Run it again.',
      });
    }
  });
}

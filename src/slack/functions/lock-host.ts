import type { App } from '@slack/bolt';
import { parseHostQuery } from '../../core/hosts/parse-host-query.js';
import { requestLockdown } from '../../core/lockdown/request-lockdown.js';
import { codeSafe } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import { COMMANDS_PER_MINUTE } from '../commands/hostlock.js';
import { refuse, type SlackDeps } from '../deps.js';
import { DURATION_VALUES, FunctionId, parseDuration } from '../ids.js';
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

/** A workflow execution id as Slack issues them (`Wx…`), kept only when it looks like one. */
const WORKFLOW_EXECUTION = /^Wx[A-Za-z0-9]{1,40}$/;

/**
 * The Workflow Builder step "Lock a host" (issue #18, item 3; function `lock_host`): the same
 * request as `/hostlock lock`, made by the person whose action ran the workflow, through the same
 * verb (their permission at this moment, exclusions, the Defender budget) and within their
 * per-minute rate. The person may only have clicked a workflow's button that said nothing of a
 * lockdown (Slack passes the clicker's user_context on), so the request always waits for an
 * approver, is recorded as `workflow:<run>`, and the person is told in a DM. Completes with the
 * lockdown's id and its state then (`pending_approval`); any refusal fails the step with the
 * reason. One execution is handled once (the delivery gate drops a repeat of its id).
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
      const event = (body as { event?: { workflow_execution_id?: unknown } }).event;
      const wx =
        typeof event?.workflow_execution_id === 'string' &&
        WORKFLOW_EXECUTION.test(event.workflow_execution_id)
          ? event.workflow_execution_id
          : 'unknown';
      const r = await requestLockdown(deps.lockdown, {
        actor,
        query: query.query,
        durationHours: parsed.hours,
        reason: parsed.reason,
        source: 'manual',
        channel: null,
        // recorded as coming from a workflow, and always put to an approver
        origin: { via: `workflow:${wx}`, alwaysApprove: true },
      });
      if (!r.ok) {
        await finish({ error: plain(requestRefusal(r)) });
        return;
      }
      const l = r.value.lockdown;
      // the person is told what was asked in their name: a workflow's button need not have said it
      await client.chat
        .postMessage({
          channel: parsed.userId,
          text: `A Workflow Builder step asked in your name to lock \`${codeSafe(r.value.host.name)}\` for ${parsed.hours} h (lockdown \`${l.id}\`, workflow run \`${wx}\`); it waits for an approver. If you did not mean to, withdraw it: \`/hostlock unlock ${codeSafe(r.value.host.name)}\`.`,
          unfurl_links: false,
        })
        .catch((e: unknown) => deps.log.warn({ err: e, lockdownId: l.id }, 'workflow_step.dm_failed'));
      await finish({ outputs: { lockdown_id: l.id, state: l.state } });
    } catch (e) {
      deps.log.error({ err: e }, 'workflow_step.failed');
      await finish({
        error: 'hostlock could not handle this step just now; it has been logged. Run it again.',
      });
    }
  });
}

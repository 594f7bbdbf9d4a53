import type { App, RespondArguments, types } from '@slack/bolt';
import type { Host } from '../../core/hosts/types.js';
import { isExcluded } from '../../core/lockdown/exclusions.js';
import { requestLockdown } from '../../core/lockdown/request-lockdown.js';
import { hostsLimitFor, requestLockdowns } from '../../core/lockdown/request-lockdowns.js';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
import type { SlackDeps } from '../deps.js';
import { DURATION_VALUES, LOCK_MESSAGE_VIEW, parseDuration, ShortcutId } from '../ids.js';
import { requestRefusal, requestsAnswer } from '../lockdown-replies.js';
import { hostsInMessage } from './lookup-message.js';
import { admitShortcut, type PersonRate } from './rate.js';

/**
 * Hosts one "Lock hosts in message" offers at most: the default hosts-per-request limit (a
 * multi-select takes up to 100 options; a request of more than the settings' limit is an admin's,
 * and is typed).
 */
export const LOCK_FROM_MESSAGE_MAX = 20;
const MAX_REASON = 500;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,30}$/;

const ephemeral = (text: string): RespondArguments => ({ response_type: 'ephemeral', text });
const pt = (text: string) => ({ type: 'plain_text' as const, text: text.slice(0, 75), emoji: false });

function lockModal(
  hosts: Host[],
  preselected: Set<string>,
  reason: string,
  channel: string,
): types.ModalView {
  // a select option has no description (Block Kit: checkboxes and radio buttons only): the name,
  // cut to leave room for the start of the machine id that tells twins apart
  const options = hosts.map((h) => ({
    text: pt(`${(h.name || h.machineId).slice(0, 60)} · ${h.machineId.slice(0, 8)}`),
    value: h.machineId,
  }));
  const initial = options.filter((o) => preselected.has(o.value));
  return {
    type: 'modal',
    callback_id: LOCK_MESSAGE_VIEW,
    title: pt('Lock hosts'),
    submit: pt('Request lockdown'),
    close: pt('Cancel'),
    // what was offered: a submission choosing anything else is refused
    private_metadata: JSON.stringify({ channel, offered: hosts.map((h) => h.machineId) }),
    blocks: [
      {
        type: 'input',
        block_id: 'hosts',
        label: pt('Hosts named in the message'),
        hint: pt('Chosen: hosts the message names by a unique name, address or id, not isolated or exempt.'),
        element: {
          type: 'multi_static_select',
          action_id: 'value',
          placeholder: pt('Hosts to lock'),
          options,
          ...(initial.length ? { initial_options: initial } : {}),
        },
      },
      {
        type: 'input',
        block_id: 'duration',
        label: pt('For'),
        element: {
          type: 'static_select',
          action_id: 'value',
          options: DURATION_VALUES.map((v) => ({ text: pt(v), value: v })),
          initial_option: { text: pt('4h'), value: '4h' },
        },
      },
      {
        type: 'input',
        block_id: 'reason',
        label: pt('Reason'),
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: MAX_REASON,
          initial_value: reason.slice(0, MAX_REASON),
        },
      },
    ],
  };
}

type Values = Record<
  string,
  Record<
    string,
    { selected_options?: Array<{ value?: unknown }>; selected_option?: { value?: unknown }; value?: unknown }
  >
>;

/**
 * "Lock hosts in this message" (issue #18, item 1): the hosts the message names that the inventory
 * knows, pre-selected in a modal with a duration and the message's link as the reason. The hosts
 * chosen make one request (item 2), through the same verbs as `/hostlock lock` (permission
 * re-checked at submission, the hosts-per-request limit, approvals, exclusions, the Defender
 * budget); at most LOCK_FROM_MESSAGE_MAX are offered.
 */
export function registerLockMessage(app: App, deps: SlackDeps, rate: PersonRate): void {
  app.shortcut(
    { callback_id: ShortcutId.lockMessage, type: 'message_action' },
    async ({ shortcut, ack, respond, client }) => {
      await ack();
      const opts = {
        userId: shortcut.user.id,
        needs: 'lockdown:edit',
        what: 'lock_message',
        respond,
      } as const;
      if (!(await admitShortcut(deps, rate, opts))) {
        return;
      }
      const settings = await deps.settings();
      if (!settings.containmentEnabled) {
        await respond(ephemeral(requestRefusal({ ok: false, error: 'containment_disabled' })));
        return;
      }
      const { known, sure, unknown } = await hostsInMessage(deps, shortcut.message);
      // current records only: a merged-away or vanished one cannot be locked
      const usable = [...known.values()].filter((h) => !h.mergedIntoMachineId && !h.goneAt);
      if (usable.length === 0) {
        const named = unknown.length ? ` (it names ${unknown.length} that hostlock does not know)` : '';
        await respond(ephemeral(`No host named in that message is in the inventory${named}.`));
        return;
      }
      const channel = shortcut.channel.id;
      const link = await client.chat
        .getPermalink({ channel, message_ts: shortcut.message_ts })
        .then((r) => (typeof r.permalink === 'string' ? r.permalink : null))
        .catch(() => null);
      const hosts = usable.slice(0, LOCK_FROM_MESSAGE_MAX);
      const preselected = new Set(
        hosts
          .filter(
            (h) => sure.has(h.machineId) && h.isolationState === 'not_isolated' && !isExcluded(h, settings),
          )
          .map((h) => h.machineId),
      );
      await client.views.open({
        trigger_id: shortcut.trigger_id,
        view: lockModal(
          hosts,
          preselected,
          link ? `From the alert ${link}` : 'From an alert in Slack',
          channel,
        ),
      });
    },
  );

  app.view(LOCK_MESSAGE_VIEW, async ({ ack, body, view, client }) => {
    const values = view.state.values as unknown as Values;
    const chosen = (values.hosts?.value?.selected_options ?? [])
      .map((o) => o.value)
      .filter((v): v is string => typeof v === 'string' && /^[0-9a-f]{40}$/.test(v));
    const hours = parseDuration(String(values.duration?.value?.selected_option?.value ?? ''));
    const reason = String(values.reason?.value?.value ?? '').trim();
    const errors: Record<string, string> = {};
    const offeredIds = (() => {
      try {
        const o = (JSON.parse(view.private_metadata || '{}') as { offered?: unknown }).offered;
        return new Set(Array.isArray(o) ? o.filter((x): x is string => typeof x === 'string') : []);
      } catch {
        return new Set<string>();
      }
    })();
    const actor = await deps.actors.resolve(body.user.id); // the permission at this moment, once
    const limit = Math.min(
      LOCK_FROM_MESSAGE_MAX,
      hostsLimitFor(actor, (await deps.settings()).hostsPerRequest),
    );
    if (chosen.length === 0) {
      errors.hosts = 'Choose at least one host.';
    } else if (new Set(chosen).size > limit) {
      errors.hosts = `At most ${limit} hosts in one request: choose fewer, and request the rest separately.`;
    } else if (chosen.some((id) => !offeredIds.has(id))) {
      errors.hosts = 'Choose among the hosts the message names.';
    }
    if (!hours) {
      errors.duration = `Choose one of ${DURATION_VALUES.join(', ')}.`;
    }
    if (reason.length > MAX_REASON) {
      errors.reason = `Keep the reason under ${MAX_REASON} characters.`;
    }
    if (Object.keys(errors).length || !hours) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const meta = (() => {
      try {
        return JSON.parse(view.private_metadata || '{}') as { channel?: unknown; offered?: unknown };
      } catch {
        return {};
      }
    })();
    const channel = typeof meta.channel === 'string' && CHANNEL_ID.test(meta.channel) ? meta.channel : null;
    const ids = [...new Set(chosen)];
    const common = { actor, durationHours: hours, reason, source: 'manual' as const, channel };
    let text: string;
    if (ids.length === 1) {
      const machineId = ids[0] ?? '';
      const r = await requestLockdown(deps.lockdown, {
        ...common,
        query: { kind: 'machine_id', value: machineId },
      });
      const host = `\`${truncateMrkdwn(codeSafe(r.ok ? r.value.host.name : machineId), 100)}\``;
      const notes = r.ok
        ? [r.value.isolationNote, r.value.postProblem].filter(Boolean).map((n) => ` :warning: ${n}`)
        : [];
      text = r.ok
        ? `${host}: lockdown \`${r.value.lockdown.id}\` ${r.value.lockdown.state === 'pending_approval' ? 'is waiting for approval' : 'is approved; isolating'} (${hours} h).${notes.join('')}`
        : `${host}: ${requestRefusal(r)}`;
    } else {
      const r = await requestLockdowns(deps.lockdown, {
        ...common,
        queries: ids.map((value) => ({ kind: 'machine_id' as const, value })),
      });
      text = requestsAnswer(r, hours);
    }
    // in the channel where the message is; where hostlock cannot post, in its DM with the person
    const told = channel
      ? await client.chat
          .postEphemeral({ channel, user: body.user.id, text })
          .then(() => true)
          .catch(() => false)
      : false;
    if (!told) {
      await client.chat
        .postMessage({ channel: body.user.id, text })
        .catch((err: unknown) => deps.log.warn({ err }, 'lock_message.answer_failed'));
    }
  });
}

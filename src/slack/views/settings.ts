import type { App, BlockAction, webApi } from '@slack/bolt';
import { escapeMrkdwn } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import { changeDefenderState, type DefenderChange } from '../../core/settings/change-defender-state.js';
import { readSettingsSnapshot } from '../../core/settings/read-settings.js';
import {
  type SettingsDeps as CoreSettingsDeps,
  type SaveResult,
  saveSettings,
} from '../../core/settings/save-settings.js';
import type { Subcommand } from '../commands/registry.js';
import { refusalText, refuse, type SlackDeps } from '../deps.js';
import { parseSettingsForm, SETTINGS_CALLBACK_ID } from './settings-form.js';
import { SettingsAction, settingsView } from './settings-view.js';

export interface SettingsDeps {
  slack: SlackDeps;
  client: webApi.WebClient;
  /** the settings verbs' ports: store, Defender verifier, clock, what to do after a save */
  core: CoreSettingsDeps;
  /** the Defender cloud and API host (operator configuration), shown in the modal */
  endpoint: { cloud: string; apiUrl: string };
  /** how long a submission may wait for Defender before answering "verifying…" (Slack allows 3 s) */
  verifyInlineMs?: number;
}

async function viewFor(d: SettingsDeps, editable: boolean, notice?: string) {
  const snapshot = await readSettingsSnapshot(d.core);
  return settingsView({ ...snapshot, endpoint: d.endpoint, editable, ...(notice ? { notice } : {}) });
}

/** `/hostlock settings` (settings:view; editing needs settings:edit): opens the modal. */
export function settingsSubcommand(d: SettingsDeps): Subcommand {
  return {
    name: 'settings',
    needs: 'settings:view',
    example: 'settings',
    usage: 'settings',
    summary: 'open the settings (Defender connection, approvals, automatic lockdown, notifications)',
    async run(ctx) {
      const actor = await d.slack.actors.resolve(ctx.userId);
      if (!can(actor, 'settings:view')) {
        return {
          reply: {
            response_type: 'ephemeral',
            text: await refuse(d.slack, actor, 'settings:view', 'settings'),
          },
        };
      }
      if (!ctx.triggerId) {
        return {
          reply: {
            response_type: 'ephemeral',
            text: 'Slack sent no trigger to open the settings; try again.',
          },
        };
      }
      await d.client.views.open({
        trigger_id: ctx.triggerId,
        view: await viewFor(d, can(actor, 'settings:edit')),
      });
      return { reply: { response_type: 'ephemeral', text: 'Opening settings…' } };
    },
  };
}

/** The settings version the modal was built from (its private_metadata); -1, never current, if unreadable. */
function formVersion(privateMetadata: unknown): number {
  try {
    const meta: unknown = JSON.parse(
      typeof privateMetadata === 'string' && privateMetadata ? privateMetadata : '{}',
    );
    const v = typeof meta === 'object' && meta !== null ? (meta as { version?: unknown }).version : undefined;
    return typeof v === 'number' && Number.isInteger(v) ? v : -1;
  } catch {
    return -1;
  }
}

/** A refused save as the modal's per-field errors. */
function saveErrors(r: Extract<SaveResult, { ok: false }>, slack: SlackDeps): Record<string, string> {
  const field = r.field ?? 'mde_tenant_id';
  switch (r.error) {
    case 'forbidden':
      return { [field]: refusalText('settings:edit') };
    case 'invalid':
      return r.errors ?? {};
    case 'conflict':
      return {
        [field]: 'Someone else saved the settings meanwhile: close this and open /hostlock settings again.',
      };
    case 'secret_required':
      return { [field]: r.message ?? 'Enter the client secret again.' };
    case 'incomplete_credentials':
      return { [field]: 'Tenant ID, application ID and client secret are needed together.' };
    case 'verification_failed':
      slack.log.info({ field }, 'settings.verification_failed');
      return { [field]: (r.message ?? 'Defender refused the connection.').slice(0, 1900) };
  }
}

/**
 * The modal's submission: parse, then `saveSettings` (permission, concurrency, verification, save).
 * Slack waits 3 s for the answer and verifying with Defender may take longer: past
 * `verifyInlineMs` the modal says "verifying…" and is updated with the outcome.
 */
export function registerSettingsView(app: App, d: SettingsDeps): void {
  app.view(SETTINGS_CALLBACK_ID, async ({ ack, body, view }) => {
    const actor = await d.slack.actors.resolve(body.user.id);
    const parsed = parseSettingsForm(view.state.values as Record<string, Record<string, unknown>>);
    const saving = saveSettings(d.core, {
      actor,
      expectedVersion: formVersion(view.private_metadata),
      form: parsed.ok ? { ok: true, ...parsed.value } : parsed,
    });
    const inTime = await Promise.race([
      saving,
      new Promise<null>((r) => setTimeout(() => r(null), d.verifyInlineMs ?? 2_300).unref()),
    ]);
    if (inTime) {
      await ack(inTime.ok ? undefined : { response_action: 'errors', errors: saveErrors(inTime, d.slack) });
      return;
    }
    await ack({
      response_action: 'update',
      view: await viewFor(d, false, ':hourglass: Verifying the Defender connection…'),
    });
    const outcome = await saving;
    const notice = outcome.ok
      ? ':white_check_mark: Verified and saved.'
      : outcome.error === 'conflict'
        ? ':x: Not saved: someone else saved the settings meanwhile.'
        : `:x: Not saved: ${escapeMrkdwn(outcome.message ?? outcome.error)}`;
    await d.client.views
      .update({ view_id: body.view.id, view: await viewFor(d, outcome.ok, notice) })
      .catch((e: unknown) => d.slack.log.error({ err: e }, 'slack.settings_update_failed'));
  });
}

/** Pause, resume and delete from the modal's buttons: `changeDefenderState`, then the modal shows the outcome. */
export function registerSettingsActions(app: App, d: SettingsDeps): void {
  const act = (actionId: string, change: DefenderChange) =>
    app.action<BlockAction>(actionId, async ({ ack, body }) => {
      await ack();
      const actor = await d.slack.actors.resolve(body.user.id);
      const r = await changeDefenderState(d.core, { actor, change });
      const viewId = body.view?.id;
      if (!viewId) {
        return;
      }
      const notice = r.ok
        ? `:white_check_mark: Defender ${change}.`
        : r.error === 'forbidden'
          ? `:no_entry: ${refusalText('settings:edit')}`
          : r.error === 'lockdowns_open'
            ? `:x: ${r.open} lockdown${r.open === 1 ? '' : 's'} still hold hosts isolated: without the credentials they could not be released on time. Release them (or wait for their end), or pause Defender instead; then delete.`
            : ':x: Someone else changed the settings meanwhile; try again.';
      await d.client.views
        .update({ view_id: viewId, view: await viewFor(d, r.ok || r.error !== 'forbidden', notice) })
        .catch((e: unknown) => d.slack.log.error({ err: e }, 'slack.settings_update_failed'));
    });
  act(SettingsAction.pause, 'paused');
  act(SettingsAction.resume, 'resumed');
  act(SettingsAction.delete, 'deleted');
}

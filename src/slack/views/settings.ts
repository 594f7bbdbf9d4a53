import type { App, BlockAction, webApi } from '@slack/bolt';
import { escapeMrkdwn } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import type { Settings } from '../../core/settings.js';
import type { Database } from '../../db/client.js';
import type { secretStore } from '../../db/repos/secrets.js';
import { readSettingsVersioned, saveSettingsIfVersion } from '../../db/repos/settings.js';
import { recordSettingsChange } from '../../db/repos/settings-change.js';
import { MDE_SECRET_NAMES, type VerifyOutcome, verifyDefenderCredentials } from '../../mde/bootstrap.js';
import type { Subcommand } from '../commands/registry.js';
import { refuse, type SlackDeps } from '../deps.js';
import {
  changedKeys,
  type ParsedSettings,
  parseSettingsForm,
  SETTINGS_CALLBACK_ID,
} from './settings-form.js';
import { SettingsAction, settingsView } from './settings-view.js';

export interface SettingsDeps {
  slack: SlackDeps;
  db: Database;
  client: webApi.WebClient;
  secrets: ReturnType<typeof secretStore>;
  mde: { apiUrl: string; loginUrl: string };
  /** after a save: reschedule the sync, etc. */
  /** after a save; `syncNow` when Defender just became usable (credentials stored, resumed) */
  onSaved: (s: Settings, o?: { syncNow?: boolean }) => Promise<void>;
  /** how long a submission may wait for Defender before answering "verifying…" (Slack allows 3 s) */
  verifyInlineMs?: number;
}

async function viewFor(d: SettingsDeps, editable: boolean, notice?: string) {
  const [{ settings, version }, ids, meta] = await Promise.all([
    readSettingsVersioned(d.db),
    d.secrets.getAll(['mde_tenant_id', 'mde_client_id']),
    d.secrets.meta('mde_client_secret'),
  ]);
  return settingsView({
    settings,
    version,
    editable,
    tenantId: ids.mde_tenant_id ?? null,
    clientId: ids.mde_client_id ?? null,
    secretSetAt: meta?.setAt ?? null,
    secretSetBy: meta?.setBy ?? null,
    ...(notice ? { notice } : {}),
  });
}

/** `/hostlock settings` (settings:view; editing needs settings:edit): opens the modal. */
export function settingsSubcommand(d: SettingsDeps): Subcommand {
  return {
    name: 'settings',
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

/** The ack for a save: close the modal, or tell the admin someone else saved first. */
function conflictOr(r: 'saved' | 'conflict') {
  return r === 'saved'
    ? undefined
    : {
        response_action: 'errors' as const,
        errors: { mde_tenant_id: 'Someone else saved the settings meanwhile: reopen them.' },
      };
}

/** Which input a failed verification belongs to. */
function fieldOf(o: Extract<VerifyOutcome, { ok: false }>): string {
  if (/tenant|other_cloud|defender_not_provisioned/.test(o.code)) {
    return 'mde_tenant_id';
  }
  if (/secret/.test(o.code)) {
    return 'mde_client_secret';
  }
  if (/client_not_found|app_disabled|missing_permission|forbidden/.test(o.code)) {
    return 'mde_client_id';
  }
  return 'mde_api_url';
}

/** Handles the modal's submission: permission, validation, concurrency, verification, save. */
export function registerSettingsView(app: App, d: SettingsDeps): void {
  app.view(SETTINGS_CALLBACK_ID, async ({ ack, body, view }) => {
    const actor = await d.slack.actors.resolve(body.user.id);
    const who = `slack:${body.user.id}`;
    if (!can(actor, 'settings:edit')) {
      // A forged submission from a viewer: refused server-side whatever the payload says.
      await ack({
        response_action: 'errors',
        errors: { mde_tenant_id: await refuse(d.slack, actor, 'settings:edit', 'settings.save') },
      });
      return;
    }
    const parsed = parseSettingsForm(view.state.values as Record<string, Record<string, unknown>>);
    if (!parsed.ok) {
      await ack({ response_action: 'errors', errors: parsed.errors });
      return;
    }
    const expected = formVersion(view.private_metadata);
    const { settings: before, version } = await readSettingsVersioned(d.db);
    if (expected !== version) {
      await ack({
        response_action: 'errors',
        errors: {
          mde_tenant_id:
            'Someone else saved the settings meanwhile: close this and open /hostlock settings again.',
        },
      });
      return;
    }
    const stored = await d.secrets.getAll([...MDE_SECRET_NAMES]);
    const creds = {
      tenantId: parsed.value.credentials.mde_tenant_id ?? stored.mde_tenant_id ?? '',
      clientId: parsed.value.credentials.mde_client_id ?? stored.mde_client_id ?? '',
      clientSecret: parsed.value.credentials.mde_client_secret ?? stored.mde_client_secret ?? '',
    };
    const apiUrl = (parsed.value.patch.mde_api_url as string | null) ?? d.mde.apiUrl;
    const credsChanged =
      creds.tenantId !== (stored.mde_tenant_id ?? '') ||
      creds.clientId !== (stored.mde_client_id ?? '') ||
      creds.clientSecret !== (stored.mde_client_secret ?? '') ||
      (parsed.value.patch.mde_api_url ?? null) !== before.mdeApiUrl;
    const anyCreds = creds.tenantId || creds.clientId || creds.clientSecret;
    if (credsChanged && anyCreds && !(creds.tenantId && creds.clientId && creds.clientSecret)) {
      const missing = !creds.tenantId
        ? 'mde_tenant_id'
        : !creds.clientId
          ? 'mde_client_id'
          : 'mde_client_secret';
      await ack({
        response_action: 'errors',
        errors: { [missing]: 'Tenant ID, application ID and client secret are needed together.' },
      });
      return;
    }

    const save = async (): Promise<'saved' | 'conflict'> => {
      const fields = changedKeys(before, parsed.value.patch);
      const patch = { ...parsed.value.patch };
      // New thresholds, or automation switched on or out of dry run, judge only scores computed
      // afterwards: a feed's backlog must not lock hosts the moment it is turned on.
      if (fields.some((f) => f.startsWith('threshold_') || f === 'auto_enabled' || f === 'auto_dry_run')) {
        patch.thresholds_saved_at = new Date().toISOString();
      }
      const credFields = Object.keys(parsed.value.credentials) as Array<keyof ParsedSettings['credentials']>;
      const sealed = Object.fromEntries(
        credFields
          .filter((k) => parsed.value.credentials[k] !== stored[k])
          .map((k) => [k, parsed.value.credentials[k] ?? '']),
      );
      const result = await saveSettingsIfVersion(d.db, patch, who, version, async (tx) => {
        if (Object.keys(sealed).length) {
          await d.secrets.putAll(sealed, who, tx);
        }
        const names = [...fields, ...Object.keys(sealed)];
        await recordSettingsChange(tx, {
          actor: who,
          targetId: 'settings',
          summary: `changed: ${names.join(', ') || 'nothing'}`,
          details: { fields: names },
        });
      });
      if (result === 'saved') {
        await d.onSaved((await readSettingsVersioned(d.db)).settings, {
          syncNow: Object.keys(sealed).length > 0,
        });
      }
      return result;
    };

    if (!credsChanged || !anyCreds) {
      await ack(conflictOr(await save()));
      return;
    }
    // Verify before save; Slack waits 3 s for this answer, Defender may take longer.
    const verification = verifyDefenderCredentials(creds, { apiUrl, loginUrl: d.mde.loginUrl });
    const inTime = await Promise.race([
      verification,
      new Promise<null>((r) => setTimeout(() => r(null), d.verifyInlineMs ?? 2_300).unref()),
    ]);
    if (inTime) {
      if (!inTime.ok) {
        await ack({
          response_action: 'errors',
          errors: { [fieldOf(inTime)]: inTime.message.slice(0, 1900) },
        });
        return;
      }
      await ack(conflictOr(await save()));
      return;
    }
    await ack({
      response_action: 'update',
      view: await viewFor(d, false, ':hourglass: Verifying the Defender connection…'),
    });
    const outcome = await verification;
    const notice = !outcome.ok
      ? `:x: Not saved: ${escapeMrkdwn(outcome.message)}`
      : (await save()) === 'saved'
        ? ':white_check_mark: Verified and saved.'
        : ':x: Not saved: someone else saved the settings meanwhile.';
    await d.client.views
      .update({ view_id: body.view.id, view: await viewFor(d, outcome.ok, notice) })
      .catch((e: unknown) => d.slack.log.error({ err: e }, 'slack.settings_update_failed'));
  });
}

/**
 * Pause, resume and delete from the modal's buttons (settings:edit). Pausing keeps the credentials
 * and stops polling and new isolations; lockdowns hostlock already made are still released on time.
 * Every change is audited and announced in the alert channels.
 */
export function registerSettingsActions(app: App, d: SettingsDeps): void {
  const act = (actionId: string, change: 'paused' | 'resumed' | 'deleted') =>
    app.action<BlockAction>(actionId, async ({ ack, body }) => {
      await ack();
      const actor = await d.slack.actors.resolve(body.user.id);
      const viewId = body.view?.id;
      if (!can(actor, 'settings:edit')) {
        const why = await refuse(d.slack, actor, 'settings:edit', actionId);
        if (viewId) {
          await d.client.views
            .update({ view_id: viewId, view: await viewFor(d, false, `:no_entry: ${why}`) })
            .catch(() => {});
        }
        return;
      }
      const who = `slack:${body.user.id}`;
      const { version } = await readSettingsVersioned(d.db);
      const patch = change === 'paused' ? { mde_state: 'paused' } : { mde_state: 'enabled' };
      const result = await saveSettingsIfVersion(d.db, patch, who, version, async (tx) => {
        if (change === 'deleted') {
          await d.secrets.remove([...MDE_SECRET_NAMES], tx);
        }
        await recordSettingsChange(tx, {
          actor: who,
          targetId: 'defender',
          summary: `Defender ${change}`,
          details: { defender: change },
        });
      });
      const notice =
        result === 'saved'
          ? `:white_check_mark: Defender ${change}.`
          : ':x: Someone else changed the settings meanwhile; try again.';
      if (result === 'saved') {
        await d.onSaved((await readSettingsVersioned(d.db)).settings, { syncNow: change === 'resumed' });
      }
      if (viewId) {
        await d.client.views
          .update({ view_id: viewId, view: await viewFor(d, true, notice) })
          .catch((e: unknown) => d.slack.log.error({ err: e }, 'slack.settings_update_failed'));
      }
    });
  act(SettingsAction.pause, 'paused');
  act(SettingsAction.resume, 'resumed');
  act(SettingsAction.delete, 'deleted');
}

import type { Clock } from '../clock.js';
import { err, ok, type Result } from '../errors.js';
import type { HostStore } from '../hosts/ports.js';
import { pinExclusions } from '../lockdown/exclusions.js';
import { type Actor, actorId, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Store } from '../store.js';
import { changeSummary, describeChanges } from './describe-changes.js';
import {
  type Credentials,
  type DefenderVerifier,
  MDE_ENDPOINT_SECRET,
  MDE_SECRET_NAMES,
  type MdeSecretName,
  type VerifyOutcome,
} from './ports.js';
import { recordSettingsChange } from './record-settings-change.js';
import { changedKeys, DEFAULT_SETTINGS, type Settings, storedValues } from './settings.js';

export interface SettingsDeps {
  store: Store;
  /** the inventory, to pin exclusion rules to the machines they match when they are saved */
  hosts: Pick<HostStore, 'identities'>;
  verifier: DefenderVerifier;
  clock: Clock;
  /** where credentials are sent (login host, API host, scope): operator configuration, never a setting */
  endpoint: string;
  /** after a save: reschedule the sync; `syncNow` when Defender just became usable */
  onSaved: (s: Settings, o: { syncNow: boolean }) => Promise<void>;
  /** lockdowns that hold, or are about to hold, a host isolated (isolating, active, releasing) */
  isolatingLockdowns: () => Promise<number>;
}

export type SaveRefusal =
  | 'forbidden'
  | 'invalid'
  | 'conflict'
  | 'incomplete_credentials'
  | 'secret_required'
  | 'verification_failed';

/**
 * A refusal names the setting it is about (a block id of the modal), so the form can point at it;
 * `invalid` carries the form's own errors, by setting.
 */
export type SaveResult = Result<Settings, SaveRefusal> & { field?: string; errors?: Record<string, string> };

/** The modal's values as its adapter parsed them: stored keys to merge, or what is wrong, by setting. */
export type SettingsForm =
  | {
      ok: true;
      /** stored keys (block ids) to merge into the row */
      patch: Record<string, unknown>;
      /** Defender credentials as typed; the secret only when typed (it is never shown back) */
      credentials: Partial<Record<MdeSecretName, string>>;
    }
  | { ok: false; errors: Record<string, string> };

export interface SaveInput {
  actor: Actor;
  /** the settings version the form was built from; a save from an older one is a conflict */
  expectedVersion: number;
  /** parsed by the adapter; its errors are told only to someone allowed to save */
  form: SettingsForm;
}

/** What the modal may change: every setting but the derived ones (pins, stamps) and the Defender state. */
const EDITABLE = new Set(
  Object.keys(storedValues(DEFAULT_SETTINGS)).filter((k) => k !== 'auto_exclusion_pins'),
);

const refuse = (e: SaveRefusal, field: string, message?: string): SaveResult => ({
  ...err(e, message),
  field,
});

/** Which input a failed verification is about. */
function fieldOf(o: Extract<VerifyOutcome, { ok: false }>): MdeSecretName {
  if (/secret/.test(o.code)) {
    return 'mde_client_secret';
  }
  if (/client_not_found|app_disabled|missing_permission|forbidden/.test(o.code)) {
    return 'mde_client_id';
  }
  // the tenant, another cloud, or Defender not answering: the connection as a whole
  return 'mde_tenant_id';
}

/**
 * Saves the settings modal (`settings:edit`). New or changed Defender credentials are verified
 * against the configured Defender endpoint first and saved only when the connection works; the
 * three go together, and credentials saved for another endpoint are not sent to this one unless
 * the secret is typed again. New thresholds, or automation switched on or out of dry run, judge
 * only scores computed afterwards (`thresholds_saved_at`). The row (compare-and-set on its
 * version, so a concurrent save is a conflict), the sealed secrets, the audit row with every
 * change old → new and the `settings.changed` notifications commit in one transaction.
 */
export async function saveSettings(deps: SettingsDeps, input: SaveInput): Promise<SaveResult> {
  if (!can(input.actor, 'settings:edit')) {
    // A forged submission from a viewer: refused server-side whatever the payload says.
    await recordDenial(deps.store, {
      actor: input.actor,
      permission: 'settings:edit',
      what: 'settings.save',
    });
    return refuse('forbidden', 'mde_tenant_id');
  }
  if (!input.form.ok) {
    return { ...err('invalid'), errors: input.form.errors };
  }
  const form = input.form;
  const { settings: before, version } = await deps.store.settings.readVersioned();
  if (input.expectedVersion !== version) {
    return refuse('conflict', 'mde_tenant_id');
  }
  const stored = await deps.store.secrets.getAll([...MDE_SECRET_NAMES, MDE_ENDPOINT_SECRET]);
  const refused = await verifyIfChanged(deps, form, stored);
  if (refused) {
    return refused;
  }
  const now = deps.clock.now();
  const by = actorId(input.actor);
  const patch = { ...form.patch };
  // containment turned back on counts too: a feed's backlog from lookup-only mode locks nothing
  if (
    changedKeys(before, patch).some((f) =>
      /^threshold_|^auto_enabled$|^auto_dry_run$|^containment_enabled$/.test(f),
    )
  ) {
    patch.thresholds_saved_at = now.toISOString();
  }
  const unknown = Object.keys(form.patch).filter((k) => !EDITABLE.has(k));
  if (unknown.length) {
    return {
      ...err('invalid'),
      errors: Object.fromEntries(unknown.map((k) => [k, 'This is not a setting.'])),
    };
  }
  // Approvals can never be orphaned (issue #15, item 4): requests from the API, automation or a DM
  // have no channel of their own, so with approval required they need the approvers' channel.
  const approval = 'approval_required' in patch ? patch.approval_required === true : before.approvalRequired;
  const approvers = 'approver_channel' in patch ? patch.approver_channel : before.approverChannel;
  if (('approval_required' in patch || 'approver_channel' in patch) && approval && !approvers) {
    return {
      ...err('invalid'),
      errors: {
        approver_channel:
          'Pick the channel where approvers decide: with approval required, requests from the API, automation and DMs have nowhere else to go. Or turn approval off.',
      },
    };
  }
  // Escalation comes before the request expires, and goes somewhere (issue #15, item 5).
  const merged = (k: string, v: unknown) => (k in patch ? patch[k] : v);
  const escalateAfter = Number(merged('escalate_after_minutes', before.escalateAfterMinutes));
  if (escalateAfter > 0 && Object.keys(patch).some((k) => /^escalat|^approval_timeout/.test(k))) {
    const timeout = Number(merged('approval_timeout_minutes', before.approvalTimeoutMinutes));
    if (escalateAfter >= timeout) {
      return {
        ...err('invalid'),
        errors: {
          escalate_after_minutes: `Escalate before the request expires: less than the approval timeout (${timeout} minutes), or 0 for never.`,
        },
      };
    }
    if (
      !merged('escalation_channel', before.escalationChannel) &&
      !merged('escalation_usergroup', before.escalationUsergroup)
    ) {
      return {
        ...err('invalid'),
        errors: {
          escalation_channel: 'Pick a channel or a user group to escalate to, or set the escalation to 0.',
        },
      };
    }
  }
  if (
    'auto_exclusions' in patch &&
    JSON.stringify(patch.auto_exclusions) !== JSON.stringify(before.autoExclusions)
  ) {
    // Pinned now, to machine ids: a host renamed later to match a rule is not exempt. Only rules
    // added now are resolved; rules kept keep their pins, so an unrelated edit of the list cannot
    // pin a host that renamed itself into an old rule since (issue #14 review).
    const rules = patch.auto_exclusions as string[];
    const kept = before.autoExclusionPins.filter((p) => rules.includes(p.rule));
    const added = rules.filter((r) => !before.autoExclusions.includes(r));
    const fresh = pinExclusions(await deps.hosts.identities(), added).filter(
      (p) => !kept.some((k) => k.machineId === p.machineId),
    );
    patch.auto_exclusion_pins = [...kept, ...fresh];
  }
  const sealed = credentialsToSeal(deps, form, stored);
  const changes = describeChanges(before, patch, { stored, saved: sealed });
  const saved = await deps.store.transaction(async (tx) => {
    if (!(await tx.settings.saveIfVersion(patch, by, version))) {
      return false;
    }
    if (Object.keys(sealed).length) {
      await tx.secrets.putAll(sealed, by);
    }
    await recordSettingsChange(tx, {
      actor: by,
      targetId: 'settings',
      summary: changeSummary(changes),
      details: { fields: changes.map((c) => c.field), changes },
      at: now,
    });
    return true;
  });
  if (!saved) {
    return refuse('conflict', 'mde_tenant_id');
  }
  const after = await deps.store.settings.read();
  await deps.onSaved(after, { syncNow: Object.keys(sealed).length > 0 });
  return ok(after);
}

/** The typed credentials that differ from the stored ones, and with them the endpoint they are for. */
function credentialsToSeal(
  deps: SettingsDeps,
  form: Extract<SettingsForm, { ok: true }>,
  stored: Record<string, string>,
): Record<string, string> {
  const typed = Object.entries(form.credentials).filter(
    (e): e is [string, string] => e[1] !== undefined && e[1] !== stored[e[0]],
  );
  return typed.length ? { ...Object.fromEntries(typed), [MDE_ENDPOINT_SECRET]: deps.endpoint } : {};
}

/**
 * Credentials that differ from what is stored must come as a set of three and pass Defender's
 * verification before anything is saved. The stored secret is only ever sent to the endpoint it
 * was saved for: after an endpoint change the secret must be typed again. Returns the refusal, or
 * null to go on.
 */
async function verifyIfChanged(
  deps: SettingsDeps,
  form: Extract<SettingsForm, { ok: true }>,
  stored: Record<string, string>,
): Promise<SaveResult | null> {
  const creds: Credentials = {
    tenantId: form.credentials.mde_tenant_id ?? stored.mde_tenant_id ?? '',
    clientId: form.credentials.mde_client_id ?? stored.mde_client_id ?? '',
    clientSecret: form.credentials.mde_client_secret ?? stored.mde_client_secret ?? '',
  };
  const idsChanged =
    creds.tenantId !== (stored.mde_tenant_id ?? '') || creds.clientId !== (stored.mde_client_id ?? '');
  const changed = idsChanged || creds.clientSecret !== (stored.mde_client_secret ?? '');
  if (!changed) {
    return null;
  }
  if (idsChanged && stored.mde_client_secret && form.credentials.mde_client_secret === undefined) {
    // the stored secret is never sent to sign in to another tenant or as another app
    return refuse(
      'secret_required',
      'mde_client_secret',
      'A new tenant or application ID needs its client secret: enter it again.',
    );
  }
  const missing = !creds.tenantId
    ? 'mde_tenant_id'
    : !creds.clientId
      ? 'mde_client_id'
      : !creds.clientSecret
        ? 'mde_client_secret'
        : null;
  if (missing) {
    return refuse('incomplete_credentials', missing);
  }
  const boundTo = stored[MDE_ENDPOINT_SECRET];
  if (
    form.credentials.mde_client_secret === undefined &&
    boundTo !== undefined &&
    boundTo !== deps.endpoint
  ) {
    return refuse(
      'secret_required',
      'mde_client_secret',
      'The Defender endpoint changed since the client secret was saved: enter the secret again to use it there.',
    );
  }
  const verified = await deps.verifier.verify(creds);
  return verified.ok ? null : refuse('verification_failed', fieldOf(verified), verified.message);
}

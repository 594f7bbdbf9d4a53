import { expect } from 'vitest';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import type { Harness } from './harness.js';

export type Values = Record<string, Record<string, unknown>>;

/** A complete, valid settings submission; `o` overrides plain-text (or number) fields by block id. */
export function settingsForm(o: Record<string, string | null> = {}): Values {
  const textv = (v: string | null) => ({ value: { type: 'plain_text_input', value: v } });
  const numv = (v: string) => ({ value: { type: 'number_input', value: v } });
  const v: Values = {
    mde_tenant_id: textv(null),
    mde_client_id: textv(null),
    mde_client_secret: textv(null),
    poll_minutes: numv('15'),
    isolation_type: { value: { type: 'static_select', selected_option: { value: 'Full' } } },
    approval_required: { value: { type: 'checkboxes', selected_options: [{ value: 'on' }] } },
    approval_timeout_minutes: numv('30'),
    approver_channel: { value: { type: 'conversations_select', selected_conversation: 'C0APPROVE1' } },
    auto_enabled: { value: { type: 'checkboxes', selected_options: [] } },
    auto_dry_run: { value: { type: 'checkboxes', selected_options: [{ value: 'on' }] } },
    auto_minutes: { value: { type: 'static_select', selected_option: { value: '4h' } } },
    threshold_threat: numv('80'),
    threshold_certainty: numv('80'),
    threshold_privilege: numv('7'),
    auto_exclusions: textv('dc-*\ntag:crown-jewels'),
    auto_hourly_cap: numv('5'),
    alert_channels: { value: { type: 'multi_conversations_select', selected_conversations: [] } },
    syslog_targets: textv('tcp://siem.example.com:514 cef'),
  };
  for (const [k, val] of Object.entries(o)) {
    v[k] =
      k.startsWith('threshold_') || k.endsWith('_minutes') || k === 'auto_hourly_cap'
        ? numv(val ?? '')
        : textv(val);
  }
  return v;
}

/** Submits the settings modal as `as`, signed, from the current settings version unless told otherwise. */
export async function submitSettings(h: Harness, as: string, values: Values, version?: number) {
  const v = version ?? (await readSettingsVersioned(h.db.db)).version;
  const r = await h.signer.viewSubmission({
    userId: as,
    callbackId: 'settings',
    values,
    privateMetadata: JSON.stringify({ version: v }),
  });
  expect(r.status).toBe(200);
  return r.text ? (r.json() as { response_action?: string; errors?: Record<string, string> }) : {};
}

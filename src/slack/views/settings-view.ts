import type { types } from '@slack/bolt';
import { codeSafe, escapeMrkdwn } from '../../core/mrkdwn.js';
import { HOSTS_PER_REQUEST_MAX, type Settings } from '../../core/settings/settings.js';
import { formatSyslogTarget } from '../../core/settings/syslog-targets.js';
import { SETTINGS_CALLBACK_ID } from './settings-form.js';

/** Buttons of the Defender section (not contract ids of DESIGN §3.3; additions of this module). */
export const SettingsAction = {
  pause: 'settings.pause',
  resume: 'settings.resume',
  delete: 'settings.delete',
} as const;

export interface SettingsViewInput {
  settings: Settings;
  /** tenant and app id as stored (not secret); the secret is never shown */
  tenantId: string | null;
  clientId: string | null;
  secretSetAt: Date | null;
  secretSetBy: string | null;
  editable: boolean;
  /** the settings row version the form was built from (optimistic concurrency) */
  version: number;
  /** the Defender cloud and API host the operator configured; shown, not editable */
  endpoint: { cloud: string; apiUrl: string };
  /** a line shown at the top (a verification failure, "verifying…") */
  notice?: string;
}

const pt = (text: string) => ({ type: 'plain_text' as const, text: text.slice(0, 150) });
const HOURS = ['1h', '2h', '4h', '8h', '12h', '24h'];
const on = { text: pt('on'), value: 'on' };

function text(
  block: string,
  label: string,
  initial: string | null,
  o: { hint?: string; multiline?: boolean; optional?: boolean; placeholder?: string } = {},
): types.InputBlock {
  return {
    type: 'input',
    block_id: block,
    optional: o.optional ?? true,
    label: pt(label),
    ...(o.hint ? { hint: pt(o.hint) } : {}),
    element: {
      type: 'plain_text_input',
      action_id: 'value',
      multiline: o.multiline ?? false,
      ...(initial ? { initial_value: initial } : {}),
      ...(o.placeholder ? { placeholder: pt(o.placeholder) } : {}),
    },
  };
}

function number(block: string, label: string, initial: number, min: number, max: number): types.InputBlock {
  return {
    type: 'input',
    block_id: block,
    label: pt(label),
    element: {
      type: 'number_input',
      action_id: 'value',
      is_decimal_allowed: false,
      initial_value: String(initial),
      min_value: String(min),
      max_value: String(max),
    },
  };
}

function checkbox(block: string, label: string, checked: boolean): types.InputBlock {
  return {
    type: 'input',
    block_id: block,
    optional: true,
    label: pt(label),
    element: {
      type: 'checkboxes',
      action_id: 'value',
      options: [on],
      ...(checked ? { initial_options: [on] } : {}),
    },
  };
}

function select(block: string, label: string, options: string[], initial: string): types.InputBlock {
  const opts = options.map((o) => ({ text: pt(o), value: o }));
  return {
    type: 'input',
    block_id: block,
    label: pt(label),
    element: {
      type: 'static_select',
      action_id: 'value',
      options: opts,
      initial_option: opts.find((o) => o.value === initial) ?? opts[0],
    },
  } as types.InputBlock;
}

const header = (t: string): types.KnownBlock => ({ type: 'header', text: pt(t) });

/** When and by whom the secret was set, or `not set`. */
function secretLine(i: SettingsViewInput): string {
  return i.secretSetAt
    ? `set on ${i.secretSetAt.toISOString().slice(0, 16).replace('T', ' ')} UTC by ${escapeMrkdwn(i.secretSetBy ?? 'unknown')}`
    : 'not set';
}

/** The cloud and API host: operator configuration (MDE_CLOUD, MDE_API_URL), never editable here. */
function endpointLine(i: SettingsViewInput): string {
  return `Cloud \`${codeSafe(i.endpoint.cloud)}\`, API \`${codeSafe(i.endpoint.apiUrl)}\``;
}

/** The viewer's read-only summary, one line per section of the form. */
function summary(i: SettingsViewInput): types.KnownBlock {
  const s = i.settings;
  const lines = [
    `*Containment*: ${s.containmentEnabled ? 'on (lock and extend)' : 'off: lookup-only mode'}`,
    `*Defender*: ${s.mdeState}; tenant \`${codeSafe(i.tenantId ?? 'not set')}\`; app \`${codeSafe(i.clientId ?? 'not set')}\`; secret ${secretLine(i)}`,
    `${endpointLine(i)} · poll every ${s.pollMinutes} min · isolation ${s.isolationType}`,
    `*Approvals*: ${s.approvalRequired ? 'required' : 'off'}, timeout ${s.approvalTimeoutMinutes} min, channel ${s.approverChannel ? `<#${s.approverChannel}>` : 'where requested'}`,
    `*Automatic lockdown*: ${s.autoEnabled ? 'on' : 'off'}${s.autoDryRun ? ' (dry run)' : ''}, ${s.autoMinutes / 60} h, thresholds threat ${s.thresholdThreat} / certainty ${s.thresholdCertainty} / privilege ${s.thresholdPrivilege}, cap ${s.autoHourlyCap}/h, ${s.autoExclusions.length} exclusions`,
    `*Notifications*: ${s.alertChannels.length} alert channels, ${s.syslogTargets.length} syslog targets`,
    '_You can view settings; changing them needs `settings:edit`._',
  ];
  return { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } };
}

function defenderSection(i: SettingsViewInput): types.KnownBlock[] {
  const s = i.settings;
  return [
    header('Defender connection'),
    ...defenderControls(s, i.secretSetAt !== null),
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${endpointLine(i)}: set by the operator (MDE_CLOUD, MDE_API_URL), not from Slack.`,
        },
      ],
    },
    text('mde_tenant_id', 'Directory (tenant) ID', i.tenantId, {
      placeholder: '00000000-0000-0000-0000-000000000000',
    }),
    text('mde_client_id', 'Application (client) ID', i.clientId),
    text('mde_client_secret', 'Client secret value', null, {
      hint: `Write-only: ${i.secretSetAt ? `${secretLine(i)}; leave empty to keep it.` : 'not set yet.'}`,
    }),
    checkbox(
      'containment_enabled',
      'Containment enabled: lock and extend hosts (off: lookups only; running lockdowns still end on time)',
      s.containmentEnabled,
    ),
    number('poll_minutes', 'Inventory poll interval (minutes, at least 5)', s.pollMinutes, 5, 1440),
    select('isolation_type', 'Isolation type', ['Full', 'Selective'], s.isolationType),
  ];
}

function approvalsSection(s: Settings): types.KnownBlock[] {
  return [
    header('Approvals'),
    checkbox('approval_required', 'Require approval', s.approvalRequired),
    number('approval_timeout_minutes', 'Approval timeout (minutes)', s.approvalTimeoutMinutes, 1, 1440),
    {
      type: 'input',
      block_id: 'approver_channel',
      optional: true,
      label: pt('Approver channel'),
      element: {
        type: 'conversations_select',
        action_id: 'value',
        ...(s.approverChannel ? { initial_conversation: s.approverChannel } : {}),
      },
    },
    number(
      'escalate_after_minutes',
      'Escalate an undecided request after (minutes, 0 = never)',
      s.escalateAfterMinutes,
      0,
      1440,
    ),
    {
      type: 'input',
      block_id: 'escalation_channel',
      optional: true,
      label: pt('Escalation channel'),
      element: {
        type: 'conversations_select',
        action_id: 'value',
        ...(s.escalationChannel ? { initial_conversation: s.escalationChannel } : {}),
      },
    },
    text('escalation_usergroup', 'Escalation user group', s.escalationUsergroup, {
      hint: 'Mentioned when a request is escalated: @oncall-leads, or its id S0123ABCD.',
      placeholder: '@oncall-leads',
    }),
    number(
      'hosts_per_request',
      `Hosts one lock request may name (admins: up to ${HOSTS_PER_REQUEST_MAX})`,
      s.hostsPerRequest,
      1,
      HOSTS_PER_REQUEST_MAX,
    ),
  ];
}

function automationSection(s: Settings): types.KnownBlock[] {
  return [
    header('Automatic lockdown'),
    checkbox('auto_enabled', 'Enabled', s.autoEnabled),
    checkbox('auto_dry_run', 'Dry run (announce, do not lock)', s.autoDryRun),
    select('auto_minutes', 'Lockdown period', HOURS, `${s.autoMinutes / 60}h`),
    number('threshold_threat', 'Threat threshold (0–99)', s.thresholdThreat, 0, 99),
    number('threshold_certainty', 'Certainty threshold (0–99)', s.thresholdCertainty, 0, 99),
    number('threshold_privilege', 'Privilege threshold (1–10)', s.thresholdPrivilege, 1, 10),
    text(
      'auto_exclusions',
      'Exclusions (one per line: dc-*, tag:<tag> or id:<machine id>)',
      s.autoExclusions.join('\n') || null,
      {
        multiline: true,
        hint: `Pinned when you save to the machines they match then (${s.autoExclusionPins.length} now); a host renamed later to match is not exempt. Save again to pin new machines.`,
      },
    ),
    number('auto_hourly_cap', 'Automatic lockdowns per hour at most', s.autoHourlyCap, 0, 1000),
    number('score_retention_days', 'Keep received scores for (days)', s.scoreRetentionDays, 1, 3650),
  ];
}

function notificationsSection(s: Settings): types.KnownBlock[] {
  return [
    header('Notifications'),
    text(
      'ticket_url_template',
      'Ticket link (a lockdown’s --ticket becomes this link)',
      s.ticketUrlTemplate,
      {
        placeholder: 'https://tracker.example/browse/{ticket}',
        hint: 'An https URL with {ticket} where the ticket key goes; empty: tickets are shown without a link.',
      },
    ),
    {
      type: 'input',
      block_id: 'alert_channels',
      optional: true,
      label: pt('Alert channels'),
      element: {
        type: 'multi_conversations_select',
        action_id: 'value',
        ...(s.alertChannels.length ? { initial_conversations: s.alertChannels } : {}),
      },
    },
    text(
      'syslog_targets',
      'Syslog targets (one per line)',
      s.syslogTargets.map(formatSyslogTarget).join('\n') || null,
      { multiline: true, placeholder: 'tcp://siem.example.com:514 cef' },
    ),
  ];
}

/** The settings modal: inputs for editors, a read-only summary (no submit) for viewers. */
export function settingsView(i: SettingsViewInput): types.ModalView {
  const notice: types.KnownBlock[] = i.notice
    ? [{ type: 'section', text: { type: 'mrkdwn', text: i.notice } }]
    : [];
  const base = {
    type: 'modal' as const,
    callback_id: SETTINGS_CALLBACK_ID,
    title: pt('hostlock settings'),
    close: pt(i.editable ? 'Cancel' : 'Close'),
    private_metadata: JSON.stringify({ version: i.version }),
  };
  if (!i.editable) {
    return { ...base, blocks: [...notice, summary(i)] };
  }
  return {
    ...base,
    submit: pt('Verify and save'),
    blocks: [
      ...notice,
      ...defenderSection(i),
      ...approvalsSection(i.settings),
      ...automationSection(i.settings),
      ...notificationsSection(i.settings),
    ],
  };
}

/** Pause / resume and delete. Delete asks for confirmation; pause keeps the credentials. */
function defenderControls(s: Settings, configured: boolean): types.KnownBlock[] {
  const state = !configured ? 'not configured' : s.mdeState === 'paused' ? 'paused' : 'enabled';
  const elements: types.Button[] = [];
  if (configured) {
    elements.push(
      s.mdeState === 'paused'
        ? {
            type: 'button',
            action_id: SettingsAction.resume,
            text: pt('Resume'),
            value: 'resume',
            style: 'primary',
          }
        : { type: 'button', action_id: SettingsAction.pause, text: pt('Pause'), value: 'pause' },
      {
        type: 'button',
        action_id: SettingsAction.delete,
        text: pt('Delete credentials'),
        value: 'delete',
        style: 'danger',
        confirm: {
          title: pt('Delete Defender credentials?'),
          text: pt(
            'hostlock forgets the tenant, app id and secret. Lookups and lockdowns stop until new credentials are saved.',
          ),
          confirm: pt('Delete'),
          deny: pt('Keep'),
          style: 'danger',
        },
      },
    );
  }
  const status: types.KnownBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text: `Defender is *${state}*.` },
  };
  return elements.length ? [status, { type: 'actions', block_id: 'defender_controls', elements }] : [status];
}

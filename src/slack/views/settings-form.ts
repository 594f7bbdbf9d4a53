import { z } from 'zod';
import { templateProblem } from '../../core/lockdown/ticket.js';
import { HOSTS_PER_REQUEST_MAX, MIN_POLL_MINUTES, type SyslogTarget } from '../../core/settings/settings.js';
import { parseSyslogTarget, refusedTarget } from '../../core/settings/syslog-targets.js';

/**
 * The settings modal's inputs (DESIGN §3.3 / §3.9): block id = setting name, action id `value`.
 * This module parses `view.state.values` into stored keys, with one message per bad field.
 */
export const SETTINGS_CALLBACK_ID = 'settings';

const str = z.object({ value: z.string().nullish() });
const sel = z.object({ selected_option: z.object({ value: z.string() }).nullish() });
const checks = z.object({ selected_options: z.array(z.object({ value: z.string() })).nullish() });
const conv = z.object({ selected_conversation: z.string().nullish() });
const convs = z.object({ selected_conversations: z.array(z.string()).nullish() });

const HOURS: Record<string, number> = { '1h': 60, '2h': 120, '4h': 240, '8h': 480, '12h': 720, '24h': 1440 };

export interface ParsedSettings {
  /** stored keys (block ids) to merge into the settings row */
  patch: Record<string, unknown>;
  /** Defender credential fields to seal; the secret only when typed */
  credentials: { mde_tenant_id?: string; mde_client_id?: string; mde_client_secret?: string };
}

type Values = Record<string, Record<string, unknown>>;

function pick<T extends z.ZodType>(values: Values, block: string, schema: T): z.infer<T> | undefined {
  const r = schema.safeParse(values[block]?.value);
  return r.success ? r.data : undefined;
}

const GUID_OR_DOMAIN =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+)$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function int(text: string | null | undefined, min: number, max: number): number | string {
  const t = (text ?? '').trim();
  if (!/^\d+$/.test(t)) {
    return `Enter a whole number from ${min} to ${max}.`;
  }
  const n = Number(t);
  return n < min || n > max ? `Enter a whole number from ${min} to ${max}.` : n;
}

/** What the field parsers fill in: a message per bad block, a stored value per good one. */
interface Parsing {
  errors: Record<string, string>;
  patch: Record<string, unknown>;
}

/** Tenant, app id and secret: checked for shape only; Defender verifies them before they are sealed. */
function parseCredentials(values: Values, errors: Parsing['errors']): ParsedSettings['credentials'] {
  const credentials: ParsedSettings['credentials'] = {};
  const tenant = pick(values, 'mde_tenant_id', str)?.value?.trim() ?? '';
  const client = pick(values, 'mde_client_id', str)?.value?.trim() ?? '';
  const secret = pick(values, 'mde_client_secret', str)?.value ?? '';
  if (tenant && !GUID_OR_DOMAIN.test(tenant)) {
    errors.mde_tenant_id = 'Enter the Directory (tenant) ID, a GUID, or yourtenant.onmicrosoft.com.';
  }
  if (client && !GUID.test(client)) {
    errors.mde_client_id = 'Enter the Application (client) ID, a GUID from the app registration.';
  }
  if (secret && (secret.length > 512 || /\s/.test(secret))) {
    errors.mde_client_secret =
      'That does not look like a client secret value (no spaces, at most 512 characters).';
  }
  if (tenant) {
    credentials.mde_tenant_id = tenant;
  }
  if (client) {
    credentials.mde_client_id = client;
  }
  if (secret) {
    credentials.mde_client_secret = secret;
  }
  return credentials;
}

function parseNumbers(values: Values, { errors, patch }: Parsing): void {
  const numbers: Array<[string, number, number]> = [
    ['poll_minutes', MIN_POLL_MINUTES, 1440],
    ['approval_timeout_minutes', 1, 1440],
    ['threshold_threat', 0, 99],
    ['threshold_certainty', 0, 99],
    ['threshold_privilege', 1, 10],
    ['auto_hourly_cap', 0, 1000],
    ['score_retention_days', 1, 3650],
    ['escalate_after_minutes', 0, 1440],
    ['hosts_per_request', 1, HOSTS_PER_REQUEST_MAX],
  ];
  // added after the others: a form opened before it existed leaves the setting as it is
  const optional = new Set(['score_retention_days', 'escalate_after_minutes', 'hosts_per_request']);
  for (const [block, min, max] of numbers) {
    if (optional.has(block) && values[block] === undefined) {
      continue;
    }
    const n = int(pick(values, block, str)?.value, min, max);
    if (typeof n === 'string') {
      errors[block] = block === 'poll_minutes' ? `Poll at most every ${MIN_POLL_MINUTES} minutes: ${n}` : n;
    } else {
      patch[block] = n;
    }
  }
}

/** Selects, checkboxes and channel pickers: Slack limits these to their options. */
function parseChoices(values: Values, { errors, patch }: Parsing): void {
  const isolation = pick(values, 'isolation_type', sel)?.selected_option?.value;
  if (isolation === 'Full' || isolation === 'Selective') {
    patch.isolation_type = isolation;
  } else {
    errors.isolation_type = 'Choose Full or Selective.';
  }
  const period = pick(values, 'auto_minutes', sel)?.selected_option?.value;
  if (period && HOURS[period]) {
    patch.auto_minutes = HOURS[period];
  } else {
    errors.auto_minutes = 'Choose one of the preset durations.';
  }
  for (const box of ['approval_required', 'auto_enabled', 'auto_dry_run']) {
    patch[box] = (pick(values, box, checks)?.selected_options ?? []).some((o) => o.value === 'on');
  }
  // only when the modal has the box: a form without it must not turn containment off
  if (values.containment_enabled !== undefined) {
    patch.containment_enabled = (pick(values, 'containment_enabled', checks)?.selected_options ?? []).some(
      (o) => o.value === 'on',
    );
  }
  patch.approver_channel = pick(values, 'approver_channel', conv)?.selected_conversation ?? null;
  if (values.escalation_channel !== undefined) {
    patch.escalation_channel = pick(values, 'escalation_channel', conv)?.selected_conversation ?? null;
  }
  parseUsergroup(values, { errors, patch });
  patch.alert_channels = pick(values, 'alert_channels', convs)?.selected_conversations ?? [];
  if (values.ticket_url_template !== undefined) {
    const template = pick(values, 'ticket_url_template', str)?.value?.trim() ?? '';
    const problem = template ? templateProblem(template) : null;
    if (problem) {
      errors.ticket_url_template = problem;
    } else {
      patch.ticket_url_template = template || null;
    }
  }
}

/**
 * The escalation user group: `<!subteam^S…|@handle>` (a mention pasted from Slack) or a bare `S…`
 * id; a handle alone cannot be resolved without the usergroups:read scope, so it is refused with
 * what to type instead.
 */
function parseUsergroup(values: Values, { errors, patch }: Parsing): void {
  if (values.escalation_usergroup === undefined) {
    return; // a form opened before the setting existed
  }
  const raw = (pick(values, 'escalation_usergroup', str)?.value ?? '').trim();
  if (!raw) {
    patch.escalation_usergroup = null;
    return;
  }
  const id = /^<!subteam\^(S[A-Z0-9]{2,20})(\|[^>]*)?>$/.exec(raw)?.[1] ?? /^S[A-Z0-9]{2,20}$/.exec(raw)?.[0];
  if (id) {
    patch.escalation_usergroup = id;
  } else {
    errors.escalation_usergroup =
      "Enter the user group's id (S followed by letters and digits, shown in the group's profile), e.g. S0123ABCD.";
  }
}

/** The non-empty, trimmed lines of a multi-line text input. */
const linesOf = (values: Values, block: string): string[] =>
  (pick(values, block, str)?.value ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

function parseExclusions(values: Values, { errors, patch }: Parsing): void {
  const exclusions = linesOf(values, 'auto_exclusions');
  const badExclusion = exclusions.find(
    (e) => e.length > 255 || !/^(tag:.+|id:[0-9a-fA-F]{40}|[A-Za-z0-9*?._-]+)$/.test(e),
  );
  if (badExclusion) {
    errors.auto_exclusions = `\`${badExclusion.slice(0, 60)}\` is not a host-name glob (e.g. dc-*) or tag:<Defender tag>.`;
  } else {
    patch.auto_exclusions = exclusions;
  }
}

/** One target per line; the first bad line's message is the field's error. */
function parseSyslogTargets(values: Values, { errors, patch }: Parsing): void {
  const targets: SyslogTarget[] = [];
  for (const line of linesOf(values, 'syslog_targets')) {
    const target = parseSyslogTarget(line);
    const refused = typeof target === 'string' ? target : refusedTarget(target);
    if (refused !== null || typeof target === 'string') {
      errors.syslog_targets = refused ?? '';
      break;
    }
    targets.push(target);
  }
  patch.syslog_targets = targets;
}

/** Parses a submission; `errors` (block id → message) is non-empty when anything is wrong. */
export function parseSettingsForm(
  values: Values,
): { ok: true; value: ParsedSettings } | { ok: false; errors: Record<string, string> } {
  const parsing: Parsing = { errors: {}, patch: {} };
  const { errors, patch } = parsing;
  // in the form's order, so the keys of `patch` and `errors` keep that order
  const credentials = parseCredentials(values, errors);
  parseNumbers(values, parsing);
  parseChoices(values, parsing);
  parseExclusions(values, parsing);
  parseSyslogTargets(values, parsing);
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: { patch, credentials } };
}

import type { IsolationType } from '../defender.js';
import type { ExclusionPin } from '../lockdown/exclusions.js';

export interface SyslogTarget {
  protocol: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
  format: 'cef' | 'rfc5424' | 'json';
  /**
   * TCP and TLS framing; default octet counting (RFC 6587 / 5425). `lf` for receivers whose
   * inputs expect newlines (Elastic Agent's TCP input, SC4S on 514 and 6514).
   */
  framing?: 'octet' | 'lf';
  /** Header around CEF and JSON; default RFC 3164 with a TAG (Vectra's layout). */
  header?: 'rfc3164' | 'rfc5424';
  /** IANA PEN of the RFC 5424 SD-ID `host_lockdown@<pen>`; default 32473 (documentation). */
  pen?: number;
  /**
   * CEF and JSON: `vectra` (default) sends only the events Vectra sends (a lockdown's lock and
   * unlock), as Vectra sends them; `full` sends every event, hostlock's own under hostlock's TAG.
   */
  profile?: 'vectra' | 'full';
}

/** The settings row (DESIGN §3.9), as core uses it. Stored as JSON keyed by the modal's block ids. */
export interface Settings {
  mdeState: 'enabled' | 'paused';
  /**
   * Containment (lock, approve, extend) allowed; off is lookup-only mode (issue #18, item 6):
   * lookups and syncs go on, existing lockdowns still release on time.
   */
  containmentEnabled: boolean;
  /** inventory poll interval, at least 5 */
  pollMinutes: number;
  isolationType: IsolationType;
  approvalRequired: boolean;
  approvalTimeoutMinutes: number;
  approverChannel: string | null;
  /** an undecided request is escalated once after this many minutes; 0: never (issue #15, item 5) */
  escalateAfterMinutes: number;
  /** where an escalated request is posted again, with its buttons */
  escalationChannel: string | null;
  /** the Slack user group mentioned (`<!subteam^S…>`) when a request is escalated */
  escalationUsergroup: string | null;
  alertChannels: string[];
  /**
   * the most hosts one lock request may name (issue #18, item 2); admins (settings:edit) may name
   * more, up to HOSTS_PER_REQUEST_MAX
   */
  hostsPerRequest: number;
  /** turns a lockdown's ticket into a link: `https://tracker.example/browse/{ticket}` (issue #18, item 5) */
  ticketUrlTemplate: string | null;
  autoEnabled: boolean;
  autoDryRun: boolean;
  autoMinutes: number;
  thresholdThreat: number;
  thresholdCertainty: number;
  thresholdPrivilege: number;
  /** when the thresholds were saved: only scores computed afterwards are judged by them */
  thresholdsSavedAt: Date | null;
  autoExclusions: string[];
  /** the machines the exclusion rules matched when they were saved: only these are exempt */
  autoExclusionPins: ExclusionPin[];
  autoHourlyCap: number;
  /** received scores older than this many days are deleted (issue #14, finding 6) */
  scoreRetentionDays: number;
  syslogTargets: SyslogTarget[];
}

export const MIN_POLL_MINUTES = 5;
/** the most hosts any one lock request may name, admins included (issue #18, item 2) */
export const HOSTS_PER_REQUEST_MAX = 100;

export const DEFAULT_SETTINGS: Settings = {
  mdeState: 'enabled',
  containmentEnabled: true,
  pollMinutes: 15,
  isolationType: 'Full',
  approvalRequired: true,
  approvalTimeoutMinutes: 30,
  approverChannel: null,
  escalateAfterMinutes: 0,
  escalationChannel: null,
  escalationUsergroup: null,
  alertChannels: [],
  hostsPerRequest: 20,
  ticketUrlTemplate: null,
  autoEnabled: false,
  autoDryRun: true,
  autoMinutes: 240,
  thresholdThreat: 80,
  thresholdCertainty: 80,
  thresholdPrivilege: 7,
  thresholdsSavedAt: null,
  autoExclusions: [],
  autoExclusionPins: [],
  autoHourlyCap: 5,
  scoreRetentionDays: 30,
  syslogTargets: [],
};

/** The settings under their stored keys (the modal's block ids). */
export function storedValues(s: Settings): Record<string, unknown> {
  return {
    containment_enabled: s.containmentEnabled,
    poll_minutes: s.pollMinutes,
    isolation_type: s.isolationType,
    approval_required: s.approvalRequired,
    approval_timeout_minutes: s.approvalTimeoutMinutes,
    approver_channel: s.approverChannel,
    escalate_after_minutes: s.escalateAfterMinutes,
    escalation_channel: s.escalationChannel,
    escalation_usergroup: s.escalationUsergroup,
    alert_channels: s.alertChannels,
    hosts_per_request: s.hostsPerRequest,
    ticket_url_template: s.ticketUrlTemplate,
    auto_enabled: s.autoEnabled,
    auto_dry_run: s.autoDryRun,
    auto_minutes: s.autoMinutes,
    threshold_threat: s.thresholdThreat,
    threshold_certainty: s.thresholdCertainty,
    threshold_privilege: s.thresholdPrivilege,
    auto_exclusions: s.autoExclusions,
    auto_exclusion_pins: s.autoExclusionPins,
    auto_hourly_cap: s.autoHourlyCap,
    score_retention_days: s.scoreRetentionDays,
    syslog_targets: s.syslogTargets,
  };
}

/** The stored keys whose values differ, for the audit row and the change summary. */
export function changedKeys(before: Settings, patch: Record<string, unknown>): string[] {
  const current = storedValues(before);
  return Object.keys(patch).filter((k) => JSON.stringify(patch[k]) !== JSON.stringify(current[k]));
}

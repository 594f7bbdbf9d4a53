import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { templateProblem } from '../../core/lockdown/ticket.js';
import type { SettingsRepo } from '../../core/settings/ports.js';
import {
  DEFAULT_SETTINGS,
  HOSTS_PER_REQUEST_MAX,
  MIN_POLL_MINUTES,
  type Settings,
} from '../../core/settings/settings.js';
import type { Database } from '../client.js';
import { settings } from '../schema.js';

const d = DEFAULT_SETTINGS;
// Stored keys are the modal's block ids (DESIGN §3.3). A bad stored value falls back to its
// default rather than taking the bot down; `issues` reports which.
const Stored = z.object({
  mde_state: z.enum(['enabled', 'paused']).catch(d.mdeState),
  poll_minutes: z
    .number()
    .int()
    .min(MIN_POLL_MINUTES)
    .max(24 * 60)
    .catch(d.pollMinutes),
  isolation_type: z.enum(['Full', 'Selective']).catch(d.isolationType),
  approval_required: z.boolean().catch(d.approvalRequired),
  // a stored value that is not a boolean reads as off: lookup-only is the safe side (absent: on)
  containment_enabled: z.boolean().catch(false),
  approval_timeout_minutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .catch(d.approvalTimeoutMinutes),
  approver_channel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/)
    .nullable()
    .catch(d.approverChannel),
  escalate_after_minutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .catch(d.escalateAfterMinutes),
  escalation_channel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/)
    .nullable()
    .catch(d.escalationChannel),
  escalation_usergroup: z
    .string()
    .regex(/^S[A-Z0-9]{2,20}$/)
    .nullable()
    .catch(d.escalationUsergroup),
  alert_channels: z.array(z.string().regex(/^[CG][A-Z0-9]+$/)).catch(d.alertChannels),
  hosts_per_request: z.number().int().min(1).max(HOSTS_PER_REQUEST_MAX).catch(d.hostsPerRequest),
  ticket_url_template: z
    .string()
    .refine((t) => templateProblem(t) === null)
    .nullable()
    .catch(d.ticketUrlTemplate),
  auto_enabled: z.boolean().catch(d.autoEnabled),
  auto_dry_run: z.boolean().catch(d.autoDryRun),
  auto_minutes: z.number().int().catch(d.autoMinutes),
  threshold_threat: z.number().int().min(0).max(99).catch(d.thresholdThreat),
  threshold_certainty: z.number().int().min(0).max(99).catch(d.thresholdCertainty),
  threshold_privilege: z.number().int().min(1).max(10).catch(d.thresholdPrivilege),
  thresholds_saved_at: z.coerce.date().nullable().catch(d.thresholdsSavedAt),
  auto_exclusions: z.array(z.string()).catch(d.autoExclusions),
  auto_exclusion_pins: z
    .array(z.object({ machineId: z.string(), name: z.string(), rule: z.string() }))
    .catch(d.autoExclusionPins),
  auto_hourly_cap: z.number().int().min(0).catch(d.autoHourlyCap),
  score_retention_days: z.number().int().min(1).max(3650).catch(d.scoreRetentionDays),
  syslog_targets: z
    .array(
      z.object({
        protocol: z.enum(['udp', 'tcp', 'tls']),
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        format: z.enum(['cef', 'rfc5424', 'json']),
        framing: z.enum(['octet', 'lf']).optional(),
        header: z.enum(['rfc3164', 'rfc5424']).optional(),
        pen: z.number().int().min(1).max(4294967295).optional(),
        profile: z.enum(['vectra', 'full']).optional(),
      }),
    )
    .catch(d.syslogTargets),
});

/** Built once: zod derives a new schema on every `.partial()` call (~0.5 ms a settings read). */
const StoredPartial = Stored.partial();

export function parseSettings(data: unknown): Settings {
  const s = StoredPartial.parse(typeof data === 'object' && data !== null ? data : {});
  return {
    mdeState: s.mde_state ?? d.mdeState,
    pollMinutes: s.poll_minutes ?? d.pollMinutes,
    isolationType: s.isolation_type ?? d.isolationType,
    approvalRequired: s.approval_required ?? d.approvalRequired,
    containmentEnabled: s.containment_enabled ?? d.containmentEnabled,
    approvalTimeoutMinutes: s.approval_timeout_minutes ?? d.approvalTimeoutMinutes,
    approverChannel: s.approver_channel ?? d.approverChannel,
    escalateAfterMinutes: s.escalate_after_minutes ?? d.escalateAfterMinutes,
    escalationChannel: s.escalation_channel ?? d.escalationChannel,
    escalationUsergroup: s.escalation_usergroup ?? d.escalationUsergroup,
    ticketUrlTemplate: s.ticket_url_template ?? d.ticketUrlTemplate,
    alertChannels: s.alert_channels ?? d.alertChannels,
    hostsPerRequest: s.hosts_per_request ?? d.hostsPerRequest,
    autoEnabled: s.auto_enabled ?? d.autoEnabled,
    autoDryRun: s.auto_dry_run ?? d.autoDryRun,
    autoMinutes: s.auto_minutes ?? d.autoMinutes,
    thresholdThreat: s.threshold_threat ?? d.thresholdThreat,
    thresholdCertainty: s.threshold_certainty ?? d.thresholdCertainty,
    thresholdPrivilege: s.threshold_privilege ?? d.thresholdPrivilege,
    thresholdsSavedAt: s.thresholds_saved_at ?? d.thresholdsSavedAt,
    autoExclusions: s.auto_exclusions ?? d.autoExclusions,
    autoExclusionPins: s.auto_exclusion_pins ?? d.autoExclusionPins,
    autoHourlyCap: s.auto_hourly_cap ?? d.autoHourlyCap,
    scoreRetentionDays: s.score_retention_days ?? d.scoreRetentionDays,
    syslogTargets: s.syslog_targets ?? d.syslogTargets,
  };
}

/** The settings row, parsed; defaults when it does not exist yet. */
export async function readSettings(db: Database): Promise<Settings> {
  const [row] = await db.select({ data: settings.data }).from(settings).where(eq(settings.id, 1));
  return parseSettings(row?.data);
}

/** Merges stored keys (block ids) into the row; tests and the settings modal write through this. */
export async function writeSettings(db: Database, patch: Record<string, unknown>, by: string): Promise<void> {
  await db
    .insert(settings)
    .values({ id: 1, data: patch, updatedBy: by })
    .onConflictDoUpdate({
      target: settings.id,
      set: {
        data: sqlMerge(patch),
        version: sqlIncrement(),
        updatedBy: by,
        updatedAt: new Date(),
      },
    });
}

const sqlMerge = (patch: Record<string, unknown>) => sql`${settings.data} || ${JSON.stringify(patch)}::jsonb`;
const sqlIncrement = () => sql`${settings.version} + 1`;

/** The settings and the row version they were read at (0 when the row does not exist yet). */
export async function readSettingsVersioned(db: Database): Promise<{ settings: Settings; version: number }> {
  const [row] = await db
    .select({ data: settings.data, version: settings.version })
    .from(settings)
    .where(eq(settings.id, 1));
  return { settings: parseSettings(row?.data), version: row?.version ?? 0 };
}

/**
 * The settings row over drizzle; `db` may be a transaction. `saveIfVersion` merges `patch` only if
 * the row is still at `expectedVersion` (two admins saving at once: the second is refused).
 */
export function settingsRepo(db: Database): SettingsRepo {
  return {
    read: () => readSettings(db),
    readVersioned: () => readSettingsVersioned(db),
    async saveIfVersion(patch, by, expectedVersion) {
      if (expectedVersion === 0) {
        const inserted = await db
          .insert(settings)
          .values({ id: 1, data: patch, version: 1, updatedBy: by })
          .onConflictDoNothing()
          .returning({ id: settings.id });
        return inserted.length > 0;
      }
      const updated = await db
        .update(settings)
        .set({ data: sqlMerge(patch), version: sqlIncrement(), updatedBy: by, updatedAt: new Date() })
        .where(and(eq(settings.id, 1), eq(settings.version, expectedVersion)))
        .returning({ id: settings.id });
      return updated.length > 0;
    },
  };
}

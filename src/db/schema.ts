import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { OPEN_LOCKDOWN_STATES } from '../core/lockdown/machine.js';
import type { AutoTrigger } from '../core/lockdown/types.js';

// DESIGN §4. Table and column names are contracts for tests and outside checks.

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();
const updatedAt = () => ts('updated_at').notNull().defaultNow();

/** Inventory mirrored from Defender by the sync job and on-demand lookups. */
export const hosts = pgTable(
  'hosts',
  {
    machineId: text('machine_id').primaryKey(),
    name: text('name').notNull(),
    osPlatform: text('os_platform'),
    osVersion: text('os_version'),
    ips: text('ips').array().notNull().default(sql`'{}'::text[]`),
    healthStatus: text('health_status'),
    onboardingStatus: text('onboarding_status'),
    riskScore: text('risk_score'),
    exposureLevel: text('exposure_level'),
    deviceValue: text('device_value'),
    firstSeen: ts('first_seen'),
    lastSeen: ts('last_seen'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    isPotentialDuplicate: boolean('is_potential_duplicate').notNull().default(false),
    mergedIntoMachineId: text('merged_into_machine_id'),
    /** not_isolated | isolating | isolated_by_hostlock | isolated_outside | releasing */
    isolationState: text('isolation_state').notNull().default('not_isolated'),
    /** hostlock | outside | null (not isolated) */
    isolationSource: text('isolation_source'),
    /** set when the machine no longer appears in Defender's list */
    goneAt: ts('gone_at'),
    syncedAt: ts('synced_at').notNull().defaultNow(),
  },
  (t) => [
    index('hosts_name_lower_idx').on(sql`lower(${t.name})`),
    index('hosts_name_lower_prefix_idx').on(sql`lower(${t.name}) text_pattern_ops`),
    index('hosts_ips_idx').using('gin', t.ips),
  ],
);

export const lockdowns = pgTable(
  'lockdowns',
  {
    id: text('id').primaryKey(),
    machineId: text('machine_id').notNull(),
    hostName: text('host_name').notNull(),
    state: text('state').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    reason: text('reason').notNull().default(''),
    /** who asked, e.g. `slack:U123`, `system:auto`; for a REST request, the token's creator */
    requestedBy: text('requested_by').notNull(),
    /** the API token a REST request came through (`api:tok_…`); null otherwise */
    requestedVia: text('requested_via'),
    approvedBy: text('approved_by'),
    decidedAt: ts('decided_at'),
    /** manual | auto | api */
    source: text('source').notNull(),
    mdeActionId: text('mde_action_id'),
    mdeReleaseActionId: text('mde_release_action_id'),
    lockedAt: ts('locked_at'),
    expiresAt: ts('expires_at'),
    releasedAt: ts('released_at'),
    /** manual | expired | external */
    releaseReason: text('release_reason'),
    releasedBy: text('released_by'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** when this lockdown next needs looking at (timers, action tracking); the sweeper's index */
    nextCheckAt: ts('next_check_at'),
    /** the thread was told the isolation is still pending (device offline) */
    pendingNotedAt: ts('pending_noted_at'),
    /** the undecided request was escalated (issue #15, item 5): once only */
    escalatedAt: ts('escalated_at'),
    /** the end-of-lockdown reminder with Extend was posted */
    remindedAt: ts('reminded_at'),
    /** Full | Selective: chosen with the request, else the settings' default then (issue #15, item 10) */
    isolationType: text('isolation_type').notNull().default('Full'),
    /** an admin overrode the exclusion list for this lockdown */
    breakGlass: boolean('break_glass').notNull().default(false),
    /** for `source = auto`: the scores and thresholds that triggered it */
    trigger: jsonb('trigger').$type<AutoTrigger>(),
    /** the ticket it was asked under (`INC-123`), when one was given */
    ticket: text('ticket'),
    /** its link, made by the settings' template when the request was made */
    ticketUrl: text('ticket_url'),
    /**
     * the request several hosts were asked in together (`req_…`, issue #18, item 2): one approval
     * message, one decision, one lockdown per host; null for a request of one host
     */
    requestId: text('request_id'),
    /**
     * a request its requester has yet to confirm (from a Workflow Builder step, issue #18, item 3):
     * not shown to approvers, and no decision taken, until they do
     */
    awaitingConfirmation: boolean('awaiting_confirmation').notNull().default(false),
    requestChannel: text('request_channel'),
    approvalChannel: text('approval_channel'),
    approvalTs: text('approval_ts'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // One open lockdown per machine: the database, not the application, makes a double lock impossible.
    uniqueIndex('lockdowns_one_open_per_machine')
      .on(t.machineId)
      .where(sql.raw(`state in (${OPEN_LOCKDOWN_STATES.map((s) => `'${s}'`).join(', ')})`)),
    index('lockdowns_state_expires_idx').on(t.state, t.expiresAt),
    index('lockdowns_next_check_idx')
      .on(t.nextCheckAt)
      .where(sql.raw(`state in (${OPEN_LOCKDOWN_STATES.map((s) => `'${s}'`).join(', ')})`)),
    index('lockdowns_machine_created_idx').on(t.machineId, t.createdAt),
    index('lockdowns_request_idx').on(t.requestId).where(sql`${t.requestId} is not null`),
    check('lockdowns_duration_preset', sql`${t.durationMinutes} in (60, 120, 240, 480, 720, 1440)`),
    check('lockdowns_isolation_type', sql`${t.isolationType} in ('Full', 'Selective')`),
  ],
);

export const hostScores = pgTable(
  'host_scores',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    machineId: text('machine_id').notNull(),
    threat: integer('threat').notNull(),
    certainty: integer('certainty').notNull(),
    privilege: integer('privilege').notNull(),
    computedAt: ts('computed_at').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    submittedBy: text('submitted_by').notNull(),
  },
  (t) => [
    index('host_scores_machine_computed_idx').on(t.machineId, t.computedAt),
    index('host_scores_received_idx').on(t.receivedAt),
    check('host_scores_threat_range', sql`${t.threat} between 0 and 99`),
    check('host_scores_certainty_range', sql`${t.certainty} between 0 and 99`),
    check('host_scores_privilege_range', sql`${t.privilege} between 1 and 10`),
  ],
);

/** The single settings row (id = 1); `data` is validated with zod whenever it is read. */
export const settings = pgTable(
  'settings',
  {
    id: integer('id').primaryKey().default(1),
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    version: integer('version').notNull().default(1),
    updatedBy: text('updated_by'),
    updatedAt: updatedAt(),
  },
  (t) => [check('settings_single_row', sql`${t.id} = 1`)],
);

/** Sealed secrets (AES-256-GCM, see src/secrets); plaintext never touches the database. */
export const secrets = pgTable('secrets', {
  name: text('name').primaryKey(),
  sealed: text('sealed').notNull(),
  keyId: text('key_id').notNull(),
  setBy: text('set_by').notNull(),
  setAt: ts('set_at').notNull().defaultNow(),
});

export const roleBindings = pgTable(
  'role_bindings',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    role: text('role').notNull(),
    /** user | usergroup */
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    grantedBy: text('granted_by').notNull(),
    grantedAt: ts('granted_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('role_bindings_role_subject').on(t.role, t.subjectId)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** sha256 of the token; the token itself is shown once and never stored */
    tokenHash: text('token_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    lastUsedAt: ts('last_used_at'),
    /** the token stops working then; null for tokens made before expiry existed */
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_tokens_hash').on(t.tokenHash),
    uniqueIndex('api_tokens_active_name').on(t.name).where(sql`revoked_at is null`),
  ],
);

/**
 * Repeated identical refusals (issue #14, finding 6): the first of a window is an audit row, the
 * rest are counted here, so a member looping a refused command cannot grow the audit trail.
 */
export const refusalCounts = pgTable('refusal_counts', {
  /** sha256 of actor, what was attempted, and the permission or rule that refused it */
  key: text('key').primaryKey(),
  windowStartedAt: ts('window_started_at').notNull(),
  /** refusals in the current window, the audited first one included */
  count: integer('count').notNull(),
  lastAt: ts('last_at').notNull(),
});

/** Append-only: a trigger in the migrations rejects UPDATE and DELETE. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    outcome: text('outcome').notNull(),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [index('audit_events_target_idx').on(t.targetType, t.targetId, t.at)],
);

export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** stable id shared by every sink's copy of one event, so receivers can drop duplicates */
    eventId: text('event_id').notNull(),
    event: text('event').notNull(),
    sink: text('sink').notNull(),
    payload: jsonb('payload').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
    lastError: text('last_error'),
    /** when this row was reported as undelivered for too long (readyz, alert channels); once */
    staleReportedAt: ts('stale_reported_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('outbox_event_sink').on(t.eventId, t.sink),
    index('outbox_pending_idx').on(t.nextAttemptAt).where(sql`delivered_at is null`),
    /** the head of each sink's queue: delivery is in id order per sink */
    index('outbox_pending_sink_idx').on(t.sink, t.id).where(sql`delivered_at is null`),
  ],
);

/** Outcome of the inventory sync, shared by every process (for /readyz and the next run's window). */
export const inventorySync = pgTable(
  'inventory_sync',
  {
    id: integer('id').primaryKey().default(1),
    lastStartedAt: ts('last_started_at'),
    lastFinishedAt: ts('last_finished_at'),
    /** start time of the last run that completed: the next run reads actions from here (minus overlap) */
    lastSuccessAt: ts('last_success_at'),
    lastError: text('last_error'),
    machines: integer('machines'),
    gone: integer('gone'),
  },
  (t) => [check('inventory_sync_single_row', sql`${t.id} = 1`)],
);

/**
 * The machines the running inventory sync has listed so far (emptied when a run starts): how a
 * run tells the hosts it saw from the ones gone, without writing a row whose facts did not change.
 * UNLOGGED (migration 0014): nothing in it outlives a run, and a run does not outlive a crash.
 */
export const inventorySeen = pgTable('inventory_seen', {
  machineId: text('machine_id').notNull(),
});

/**
 * Slack deliveries already taken (reliability.md §3): `sig:<sha256 of X-Slack-Signature>` for an
 * exact replay inside the 5-minute window, `event:<event_id>` for Events API retries. Shared by
 * every replica; rows older than an hour are deleted as new ones arrive.
 */
export const slackDeliveries = pgTable(
  'slack_deliveries',
  {
    key: text('key').primaryKey(),
    seenAt: ts('seen_at').notNull().defaultNow(),
  },
  (t) => [index('slack_deliveries_seen_at_idx').on(t.seenAt)],
);

/**
 * Defender calls of the last hour, of every replica (issue #15, item 8; db/repos/mde-calls.ts):
 * one row per call, deleted once an hour old.
 */
export const mdeCalls = pgTable(
  'mde_calls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull(),
  },
  (t) => [index('mde_calls_at_idx').on(t.at)],
);

/** The one row every Defender budget take locks, and Defender's last 429 pause. */
export const mdeBudget = pgTable(
  'mde_budget',
  {
    id: integer('id').primaryKey().default(1),
    pausedUntil: ts('paused_until'),
  },
  (t) => [check('mde_budget_single_row', sql`${t.id} = 1`)],
);

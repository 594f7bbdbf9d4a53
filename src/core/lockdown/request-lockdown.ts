import type { IsolationType } from '../defender.js';
import { err, ok, type Result } from '../errors.js';
import type { EventName } from '../events.js';
import { lookupHost } from '../hosts/lookup-host.js';
import { namedBy } from '../hosts/message-hosts.js';
import type { HostQuery } from '../hosts/parse-host-query.js';
import type { Host } from '../hosts/types.js';
import { newId } from '../ids.js';
import { type Actor, actorId, can, viaOf } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import type { Settings } from '../settings/settings.js';
import { firstPendingCheck } from './deadlines.js';
import { exclusionOf, isExcluded } from './exclusions.js';
import { LOCKDOWN_DURATIONS_HOURS, LOCKDOWN_STATES, type LockdownState, REQUEST_EVENTS } from './machine.js';
import { pickOne } from './pick-host.js';
import type { LockdownDeps } from './ports.js';
import { ticketUrl } from './ticket.js';
import type { AuditRecord, AutoTrigger, Lockdown, LockdownSource, NewLockdown } from './types.js';

export type RequestRefusal =
  | 'forbidden'
  | 'containment_disabled'
  | 'bad_duration'
  | 'defender_not_configured'
  | 'defender_paused'
  | 'defender_failed'
  | 'not_found'
  | 'ambiguous'
  | 'already_open'
  | 'isolated_outside'
  | 'not_onboarded'
  | 'merged'
  | 'excluded'
  | 'break_glass_forbidden'
  | 'selective_unsupported'
  | 'no_approver_channel'
  | 'capped'
  /** (several hosts) the name only begins a host's name: in a list, each host is named in full */
  | 'inexact';

export interface RequestInput {
  actor: Actor;
  query: HostQuery;
  durationHours: number;
  reason: string;
  source: LockdownSource;
  channel: string | null;
  /** an admin overriding the exclusion list; audited and announced */
  breakGlass?: boolean;
  /** Full or Selective as the requester chose; without a choice, the settings' default */
  isolationType?: IsolationType;
  /** automatic lockdowns: the scores that triggered it, and the hourly cap to respect */
  auto?: { trigger: AutoTrigger; capPerHour: number };
  /** a ticket reference, already checked (ticket.ts parseTicket) */
  ticket?: string;
  /**
   * Where a person's request came from when not typed by them: a Workflow Builder step
   * (`workflow:<workflow execution id>`), recorded as `requested_via` and in the audit. The person
   * may have started the workflow with a click that did not say it locks a host, and the
   * workflow's builder may be an approver (issue #18, item 3 reviews): such a request waits for
   * the person's own confirmation before any approver sees it (confirmLockdown), then for an
   * approver, whatever the settings say.
   */
  origin?: { via: string; confirm: true };
  /** in a list or a workflow's input, a host is named in full: no name prefix picks a host */
  exact?: boolean;
}

export interface RequestOk {
  lockdown: Lockdown;
  host: Host;
  /** the request could not be posted where approvers look (see RequestPost) */
  postProblem?: string;
  /** the settings' default was Selective, which this host's OS does not support: Full instead */
  isolationNote?: string;
}

export type RequestResult = Result<RequestOk, RequestRefusal> & {
  candidates?: Host[];
  existing?: Lockdown;
};

/**
 * A lockdown request: the host must resolve to exactly one machine that hostlock may lock; the row
 * is inserted pending approval (or approved when approval is off) under the one-open-per-machine
 * index, so of any number of concurrent requests exactly one wins. Refusals change nothing.
 */
export async function requestLockdown(deps: LockdownDeps, input: RequestInput): Promise<RequestResult> {
  const gate = await requestGate(deps, input, input.query.value);
  if (!gate.ok) {
    return gate;
  }
  const settings = gate.value;
  const prepared = await lockableRequest(deps, input, settings, input.query, { exact: !!input.exact });
  if (!prepared.ok) {
    return prepared;
  }
  const { host, isolation } = prepared.value;
  if (noApprover(settings, input)) {
    return err('no_approver_channel');
  }
  const row = newLockdownRow(input, settings, prepared.value, deps.clock.now());
  const inserted = await deps.lockdowns.insert(
    row.l,
    row.audit,
    input.auto ? { autoCapPerHour: input.auto.capPerHour } : {},
  );
  if (inserted === 'capped') {
    return err('capped');
  }
  if (inserted === 'already_open') {
    const current = await deps.lockdowns.openForMachine(host.machineId);
    return { ...err('already_open'), ...(current ? { existing: current } : {}) };
  }
  if (inserted.awaitingConfirmation) {
    // nobody is asked before the requester confirms: the caller asks them (the workflow step's DM)
    return ok({ lockdown: inserted, host });
  }
  const { lockdown, problem } = await announceRequest(deps, inserted, host, {
    breakGlass: !!input.breakGlass,
    approval: approvalNeeded(settings, input),
  });
  return ok({
    lockdown,
    host,
    ...(problem ? { postProblem: problem } : {}),
    ...(isolation.note ? { isolationNote: isolation.note } : {}),
  });
}

/**
 * What every request passes before any host is looked at: the requester's permission, a preset
 * duration, break-glass only for admins, containment on. Refusals are audited; the settings when
 * it passes. `what` names the host(s) asked for, for the lookup-only audit row.
 */
export async function requestGate(
  deps: LockdownDeps,
  input: Pick<RequestInput, 'actor' | 'durationHours' | 'breakGlass'>,
  what: string,
): Promise<Result<Settings, RequestRefusal>> {
  if (!can(input.actor, 'lockdown:edit')) {
    await recordDenial(deps, { actor: input.actor, permission: 'lockdown:edit', what: 'lockdown.request' });
    return err('forbidden');
  }
  if (!(LOCKDOWN_DURATIONS_HOURS as readonly number[]).includes(input.durationHours)) {
    return err('bad_duration');
  }
  if (input.breakGlass && !can(input.actor, 'settings:edit')) {
    await recordDenial(deps, {
      actor: input.actor,
      permission: 'settings:edit',
      what: 'lockdown.break_glass',
    });
    return err('break_glass_forbidden');
  }
  const settings = await deps.settings();
  if (!settings.containmentEnabled) {
    // audited like any refused check: who tried to lock what while containment was off
    await recordDenial(deps, {
      actor: input.actor,
      rule: 'lookup_only',
      what: 'lockdown.request',
      details: { query: what },
    });
    return err('containment_disabled');
  }
  return ok(settings);
}

/** Whether this request waits for an approver: the settings say so, or it came from a workflow. */
export const approvalNeeded = (settings: Settings, input: Pick<RequestInput, 'origin'>): boolean =>
  settings.approvalRequired || !!input.origin?.confirm;

/**
 * A request that needs approval with nowhere an approver would see it (DESIGN §3.3): a REST,
 * automatic or workflow request on a fresh install.
 */
export const noApprover = (settings: Settings, input: Pick<RequestInput, 'origin' | 'channel'>): boolean =>
  approvalNeeded(settings, input) &&
  !settings.approverChannel &&
  !input.channel &&
  settings.alertChannels.length === 0;

/** A host a request may lock, with what Defender is to be asked for it. */
export interface LockableHost {
  host: Host;
  isolation: { type: IsolationType; note?: string };
  /** a rule matching the host by name or tag that did not pin it (renamed since?), flagged in the audit */
  mismatch: string | null;
}

/**
 * One host of a request: it resolves to exactly one machine hostlock may lock (lockableHost), the
 * isolation type suits its OS, and it has no open lockdown. `guard` spends the lookup quota for a
 * host the inventory does not know (REST requests, and every request of several hosts).
 */
export async function lockableRequest(
  deps: LockdownDeps,
  input: Pick<RequestInput, 'actor' | 'isolationType' | 'breakGlass'>,
  settings: Settings,
  query: HostQuery,
  opts: { quota?: boolean; exact?: boolean } = {},
): Promise<Result<LockableHost, RequestRefusal> & { candidates?: Host[]; existing?: Lockdown }> {
  const resolved = await lockableHost(deps, { ...input, query }, settings, opts);
  if (!resolved.ok) {
    return resolved;
  }
  const host = resolved.value;
  const exclusion = exclusionOf(host, settings);
  const isolation = isolationFor(host, input.isolationType, settings);
  if (!isolation.ok) {
    return isolation;
  }
  const existing = await deps.lockdowns.openForMachine(host.machineId);
  if (existing) {
    return { ...err('already_open'), existing };
  }
  return ok({ host, isolation: isolation.value, mismatch: exclusion.exempt ? null : exclusion.nameOnly });
}

/** The row of a new request for one host and its audit record (`lockdown.requested`). */
export function newLockdownRow(
  input: Omit<RequestInput, 'query'>,
  settings: Settings,
  h: LockableHost,
  now: Date,
  requestId?: string,
): { l: NewLockdown; audit: AuditRecord } {
  const approval = approvalNeeded(settings, input);
  const state = approval ? 'pending_approval' : 'approved';
  const via = input.origin?.via ?? viaOf(input.actor);
  return {
    l: {
      id: newId('lck'),
      machineId: h.host.machineId,
      hostName: h.host.name,
      state,
      durationMinutes: input.durationHours * 60,
      reason: input.reason,
      requestedBy: actorId(input.actor),
      requestedVia: via,
      source: input.source,
      requestChannel: input.channel,
      breakGlass: !!input.breakGlass,
      isolationType: h.isolation.type,
      ...(input.auto ? { trigger: input.auto.trigger } : {}),
      ...(input.ticket
        ? { ticket: input.ticket, ticketUrl: ticketUrl(settings.ticketUrlTemplate, input.ticket) }
        : {}),
      ...(requestId ? { requestId } : {}),
      ...(input.origin?.confirm ? { awaitingConfirmation: true } : {}),
      nextCheckAt: approval ? firstPendingCheck({ createdAt: now, escalatedAt: null }, settings) : now,
    },
    audit: {
      actor: actorId(input.actor),
      action: 'lockdown.requested',
      outcome: 'ok',
      details: {
        machineId: h.host.machineId,
        host: h.host.name,
        durationHours: input.durationHours,
        reason: input.reason,
        isolationType: h.isolation.type,
        approvalRequired: approval,
        ...(requestId ? { requestId } : {}),
        ...(input.breakGlass ? { breakGlass: true } : {}),
        ...(input.ticket ? { ticket: input.ticket } : {}),
        ...(via ? { via } : {}),
        ...(h.mismatch ? { exclusionMismatch: h.mismatch } : {}),
        ...(input.auto ? { rule: input.auto.trigger } : {}),
      },
      events: REQUEST_EVENTS[state],
    },
  };
}

/**
 * Whether Defender can isolate this host selectively (mde-api.md §6.1 OS support: Windows and
 * macOS; Linux and mobile platforms are not supported). An unknown platform is given the benefit.
 */
export function selectiveSupported(host: Pick<Host, 'osPlatform'>): boolean {
  const os = (host.osPlatform ?? '').toLowerCase();
  return os === '' || os.startsWith('windows') || os.startsWith('mac');
}

/**
 * Full or Selective for this request (issue #15, item 10): a requester's explicit Selective on an
 * OS that does not support it is refused before Defender is asked; the settings' default Selective
 * falls back to Full there, with a note.
 */
function isolationFor(
  host: Host,
  chosen: IsolationType | undefined,
  settings: Settings,
): Result<{ type: IsolationType; note?: string }, 'selective_unsupported'> {
  const type = chosen ?? settings.isolationType;
  if (type !== 'Selective' || selectiveSupported(host)) {
    return ok({ type });
  }
  if (chosen) {
    return err('selective_unsupported');
  }
  return ok({
    type: 'Full',
    note: `Defender does not support selective isolation on ${host.osPlatform}: the host is isolated fully.`,
  });
}

/**
 * The one machine a request may lock: it resolves to exactly one onboarded machine that is not
 * isolated outside hostlock, not merged away and not excluded (unless an admin breaks glass), and
 * Defender is configured and enabled. Asks Defender when the inventory does not know the host.
 */
async function lockableHost(
  deps: LockdownDeps,
  input: Pick<RequestInput, 'actor' | 'query' | 'breakGlass'>,
  settings: Settings,
  opts: { quota?: boolean; exact?: boolean },
): Promise<Result<Host, RequestRefusal> & { candidates?: Host[] }> {
  // A REST request for a host the inventory does not know spends its creator's lookup quota, as a
  // lookup does: a token cannot fill Defender's budget with requests for made-up names (review M5).
  // People in Slack are bounded by the command rate limit for one host; a request of several hosts
  // spends the quota whoever asks (issue #18, item 2: each host counts, none bypasses it).
  const quota =
    deps.lookupGuard && (input.actor.kind === 'api' || opts.quota) ? { guard: deps.lookupGuard } : {};
  const found = await lookupHost(
    { hosts: deps.hosts, defender: deps.defender, clock: deps.clock },
    { query: input.query, maxAgeMs: settings.pollMinutes * 60_000, who: actorId(input.actor), ...quota },
  );
  if (found.defenderProblem === 'not_configured' || found.defenderProblem === 'paused') {
    return err(found.defenderProblem === 'paused' ? 'defender_paused' : 'defender_not_configured');
  }
  if (settings.mdeState === 'paused') {
    return err('defender_paused');
  }
  const defender = await deps.defender();
  if (typeof defender === 'string') {
    return err(defender === 'paused' ? 'defender_paused' : 'defender_not_configured');
  }
  if (found.total === 0) {
    // `busy`: the requester's lookup quota (or Defender's budget) is spent for now
    return found.defenderProblem === 'failed' || found.defenderProblem === 'busy'
      ? err('defender_failed')
      : err('not_found');
  }
  const host = pickOne(found.hosts, input.query);
  if (!host) {
    return { ...err('ambiguous'), candidates: found.hosts };
  }
  if (opts.exact && !namedBy(host, input.query)) {
    // `lock web-01 finance 4h`: a reason word must not pick `finance-srv` because it is the only
    // host whose name begins with it
    return { ...err('inexact'), candidates: [host] };
  }
  if (host.mergedIntoMachineId || host.goneAt) {
    return { ...err('merged'), candidates: [host] };
  }
  if (host.isolationState !== 'not_isolated' && host.isolationSource !== 'hostlock') {
    return err('isolated_outside');
  }
  if (host.onboardingStatus && host.onboardingStatus.toLowerCase() !== 'onboarded') {
    return err('not_onboarded');
  }
  if (isExcluded(host, settings) && !input.breakGlass) {
    return err('excluded');
  }
  return ok(host);
}

/** What a request that ended before its root was posted tells the thread (the root is rewritten with it). */
const ENDED_BEFORE_POSTED: Partial<Record<LockdownState, EventName>> = {
  withdrawn: 'lockdown.withdrawn',
  approval_expired: 'lockdown.approval_expired',
  denied: 'lockdown.denied',
};

/** Posts the request's root message (its thread) and wakes the engine when no approval is needed. */
export async function announceRequest(
  deps: LockdownDeps,
  inserted: Lockdown,
  host: Host | null,
  o: { breakGlass: boolean; approval: boolean },
): Promise<{ lockdown: Lockdown; problem: string | undefined }> {
  const posted = await deps.announce.requested(inserted, host);
  const where = posted.thread;
  let lockdown = inserted;
  if (where) {
    // where its thread is, whatever happened meanwhile (a withdrawal between a workflow request's
    // Confirm and this post): a root posted as pending must be told it is not
    lockdown =
      (await deps.lockdowns.update(inserted.id, LOCKDOWN_STATES, {
        approvalChannel: where.channel,
        approvalTs: where.ts,
      })) ?? inserted;
    const ended = ENDED_BEFORE_POSTED[lockdown.state];
    if (lockdown.state !== inserted.state && ended) {
      await deps.lockdowns.note(lockdown, ended);
      return { lockdown, problem: posted.problem };
    }
  }
  if (o.breakGlass) {
    await deps.lockdowns.note(lockdown, 'break_glass');
  }
  if (!o.approval) {
    await deps.lockdowns.note(lockdown, 'lockdown.approved', 'approval is not required');
    await deps.wake(lockdown.id, deps.clock.now());
  }
  return { lockdown, problem: posted.problem };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseHostQuery } from '../../core/hosts/parse-host-query.js';
import type { Host } from '../../core/hosts/types.js';
import { plannedEnd } from '../../core/lockdown/deadlines.js';
import {
  LOCKDOWN_DURATIONS_HOURS,
  LOCKDOWN_STATES,
  OPEN_LOCKDOWN_STATES,
} from '../../core/lockdown/machine.js';
import type { LockdownDeps } from '../../core/lockdown/ports.js';
import { type ReleaseRefusal, releaseLockdown } from '../../core/lockdown/release-lockdown.js';
import { type RequestResult, requestLockdown } from '../../core/lockdown/request-lockdown.js';
import {
  type RefusedHost,
  type RequestsInput,
  requestLockdowns,
} from '../../core/lockdown/request-lockdowns.js';
import { parseTicket, TICKET_EXAMPLE } from '../../core/lockdown/ticket.js';
import type { Lockdown } from '../../core/lockdown/types.js';
import { HOSTS_PER_REQUEST_MAX } from '../../core/settings/settings.js';
import { storable } from '../../core/storable-text.js';
import type { ApiCaller } from '../auth.js';
import { apiError, readJsonBody } from '../http.js';
import { sendJson } from '../server.js';
import { releaseRefusalStatus, requestRefusalStatus } from './refusals.js';

/** Most lockdowns one GET lists (open lockdowns are few: one per machine at most). */
const LIST_LIMIT = 1000;
export const MAX_REASON_LENGTH = 500;
export const MAX_HOST_LENGTH = 255;

const DURATIONS: readonly string[] = LOCKDOWN_DURATIONS_HOURS.map((h) => `${h}h`);
const durationHours = (v: string): number => Number(v.slice(0, -1));

const hostField = z.string().trim().min(1).max(MAX_HOST_LENGTH);

export const LockHostBody = z
  .object({
    host: hostField
      .optional()
      .meta({ description: 'one host: its name, an IP address or its Defender machine id' }),
    hosts: z.array(hostField).min(1).max(HOSTS_PER_REQUEST_MAX).optional().meta({
      description:
        "several hosts in one request (one approval, one lockdown each, grouped by request_id); at most the settings' hosts per request (and never more than 100)",
    }),
    duration: z.enum(DURATIONS as [string, ...string[]], { error: `must be one of ${DURATIONS.join(', ')}` }),
    // stored as given but for what PostgreSQL cannot hold (NUL, unpaired surrogates)
    reason: z.string().trim().max(MAX_REASON_LENGTH).default('').transform(storable),
    isolation_type: z
      .enum(['Full', 'Selective'], { error: 'must be Full or Selective' })
      .optional()
      .meta({ description: "Defender's isolation type; default: the settings' choice" }),
    ticket: z
      .string()
      .trim()
      .refine((t) => parseTicket(t) !== null, {
        error: `must be a tracker key such as ${TICKET_EXAMPLE} (letters, digits, . _ / # -; at most 64)`,
      })
      .optional()
      .meta({ description: "a ticket reference; the settings' ticket link template makes it a link" }),
  })
  .refine((b) => (b.host === undefined) !== (b.hosts === undefined), {
    error: 'send either "host" or "hosts", not both',
    path: ['host'],
  });

const date = z.iso.datetime().nullable();

/** The answer's shape for one lockdown (OpenAPI document and tests use it). */
export const LockdownView = z.object({
  host_id: z.string().meta({ description: "the lockdown's id: what DELETE /lockdown/host/{id} takes" }),
  host_name: z.string(),
  locked_by: z.string().meta({
    description:
      'who asked: slack:U…, system:auto; for a request through a token, the person who created the token',
  }),
  locked_via: z.string().nullable().meta({
    description:
      'what a request came through: the API token (api:tok_…) or a Workflow Builder step (workflow:Wx…); null when typed in Slack',
  }),
  lock_date: date.meta({
    description:
      'when Defender isolated the host; until then (pending, approved, isolating) when the lockdown was requested. Never null for an open lockdown',
  }),
  unlock_date: date.meta({
    description:
      'the planned release: isolation time + duration once isolated, moved by extensions; until then requested time + duration (the clock starts when Defender isolates). Never null for an open lockdown',
  }),
  machine_id: z.string(),
  state: z.enum(LOCKDOWN_STATES),
  isolation_type: z.enum(['Full', 'Selective']),
  reason: z.string(),
  source: z.enum(['manual', 'api', 'auto']),
  duration_hours: z.number(),
  approved_by: z.string().nullable(),
  requested_date: z.iso.datetime(),
  trigger: z
    .object({
      threat: z.number().int(),
      certainty: z.number().int(),
      privilege: z.number().int(),
      computed_at: z.iso.datetime({ offset: true }),
    })
    .nullable()
    .meta({ description: 'for automatic lockdowns: the scores that triggered it' }),
  ticket: z.string().nullable(),
  request_id: z
    .string()
    .nullable()
    .meta({ description: 'the request it was asked in with other hosts (req_…), else null' }),
  ticket_url: z
    .string()
    .nullable()
    .meta({ description: "the ticket's link, made when the request was made" }),
});

/** RFC 3339 in UTC to the second (`2024-05-01T12:00:00Z`), as the Vectra API writes dates. */
const rfc3339 = (d: Date | null): string | null => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);

/**
 * A lockdown in the Vectra shape (`host_id`, `host_name`, `locked_by`, `lock_date`, `unlock_date`)
 * plus hostlock's own fields. `host_id` is the lockdown's id, the handle `DELETE …/host/{id}` takes.
 * `lock_date` and `unlock_date` are never null for an open lockdown (issue #15, item 3): before
 * Defender has isolated the host they are the request time and the request time + duration.
 */
export function lockdownView(l: Lockdown): z.infer<typeof LockdownView> {
  return {
    host_id: l.id,
    host_name: l.hostName,
    locked_by: l.requestedBy,
    locked_via: l.requestedVia,
    lock_date: rfc3339(l.lockedAt ?? l.createdAt),
    // before isolation: the end as it would be were the host isolated when it was requested
    unlock_date: rfc3339(l.expiresAt ?? plannedEnd(l.createdAt, l)),
    machine_id: l.machineId,
    state: l.state,
    isolation_type: l.isolationType,
    reason: l.reason,
    source: l.source,
    duration_hours: l.durationMinutes / 60,
    approved_by: l.approvedBy,
    requested_date: rfc3339(l.createdAt) ?? '',
    ticket: l.ticket,
    ticket_url: l.ticketUrl,
    request_id: l.requestId,
    trigger: l.trigger
      ? {
          threat: l.trigger.threat,
          certainty: l.trigger.certainty,
          privilege: l.trigger.privilege,
          computed_at: l.trigger.computedAt,
        }
      : null,
  };
}

/**
 * A host isolated outside hostlock (Defender portal, another tool), for `?include=outside`: not a
 * lockdown, so no lockdown id and no dates hostlock could vouch for; hostlock never releases it.
 */
export const OutsideView = z.object({
  host_id: z.string().meta({ description: 'the machine id (there is no hostlock lockdown to name)' }),
  host_name: z.string(),
  machine_id: z.string(),
  state: z.literal('isolated_outside'),
  locked_by: z.literal('outside hostlock'),
  lock_date: z.null(),
  unlock_date: z.null(),
  isolated_outside: z.literal(true),
});

function outsideView(h: Host): z.infer<typeof OutsideView> {
  return {
    host_id: h.machineId,
    host_name: h.name,
    machine_id: h.machineId,
    state: 'isolated_outside',
    locked_by: 'outside hostlock',
    lock_date: null,
    unlock_date: null,
    isolated_outside: true,
  };
}

export interface LockdownRouteDeps {
  lockdown: LockdownDeps;
}

/**
 * `GET /api/v2.1/lockdown/host`: the open lockdowns; with `?include=outside` also the hosts
 * isolated outside hostlock (issue #15, item 12), marked `isolated_outside: true`.
 */
export async function listLockdowns(deps: LockdownRouteDeps, url: URL, res: ServerResponse): Promise<void> {
  const include = url.searchParams.getAll('include').flatMap((v) => v.split(','));
  const unknown = include.filter((v) => v !== 'outside');
  if (unknown.length) {
    apiError(res, 400, 'bad_include', `include takes only "outside", not "${unknown[0]?.slice(0, 40)}".`);
    return;
  }
  const open = await deps.lockdown.lockdowns.listOpen(LIST_LIMIT);
  const lockdowns = open
    .filter((l) => (OPEN_LOCKDOWN_STATES as readonly string[]).includes(l.state))
    .map(lockdownView);
  if (!include.includes('outside')) {
    sendJson(res, 200, lockdowns);
    return;
  }
  const { hosts } = await deps.lockdown.hosts.isolated(LIST_LIMIT, { source: 'outside' });
  const outside = hosts.map(outsideView);
  sendJson(res, 200, [...lockdowns, ...outside]);
}

/**
 * A refusal in words. Candidates of an ambiguous name are listed only to a token that may view
 * hosts (`lockdown:view`): a token made to lock must not enumerate the inventory (issue #14, 16).
 */
function refusalMessage(r: Extract<RequestResult, { ok: false }>, canView: boolean): string {
  const existing = r.existing ? ` (lockdown ${r.existing.id} is ${r.existing.state})` : '';
  const map: Record<typeof r.error, string> = {
    forbidden: 'This token lacks the `lockdown:edit` scope.',
    containment_disabled:
      "Containment is off in hostlock's settings (lookup-only mode): nothing can be locked until an admin turns it on.",
    bad_duration: `duration must be one of ${DURATIONS.join(', ')}.`,
    defender_not_configured: 'Defender is not configured yet: an admin must enter its credentials first.',
    defender_paused: 'Defender is paused by an admin, so nothing can be locked right now.',
    defender_failed: 'Defender could not be asked just now (it has been logged). Try again in a minute.',
    not_found: 'No host matches that. Name it by full name, IP address or machine id.',
    ambiguous: canView
      ? `Several hosts match: name one by its machine id (${(r.candidates ?? [])
          .slice(0, 10)
          .map((h) => `${h.name} = ${h.machineId}`)
          .join(', ')}).`
      : 'Several hosts match: name one by its machine id.',
    already_open: `That host already has an open lockdown${existing}.`,
    isolated_outside:
      'That host is isolated outside hostlock (Defender portal or another tool); hostlock will not take over or release it.',
    not_onboarded: 'That device is not onboarded to Defender, so Defender cannot isolate it.',
    merged:
      'That record was merged into another machine or is no longer listed by Defender: use the current machine id.',
    excluded: 'That host is on the exclusion list; only an admin in Slack can override it.',
    break_glass_forbidden: 'Only admins may override the exclusion list.',
    no_approver_channel:
      'Approval is required, but no approver channel (nor alert channel) is set, so nobody could approve this: an admin must pick one in /hostlock settings.',
    selective_unsupported:
      'Defender does not support selective isolation on this host\'s OS (only Windows and macOS): send "isolation_type": "Full".',
    capped: 'The hourly cap of automatic lockdowns is reached.',
    inexact:
      'No host is named exactly that (only one whose name begins with it): name it in full, by IP address or by machine id.',
  };
  return map[r.error];
}

/**
 * `POST /api/v2.1/lockdown/host` `{ host, duration, reason }`: the same request as `/hostlock lock`,
 * with the same rules and approvals. 202 while it awaits approval, 201 once approved.
 */
export async function lockHost(
  deps: LockdownRouteDeps,
  caller: ApiCaller,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) {
    res.setHeader('connection', 'close');
    apiError(res, body.status, body.code, body.message);
    return;
  }
  const parsed = LockHostBody.safeParse(body.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    apiError(
      res,
      400,
      field === 'duration' ? 'bad_duration' : 'bad_request',
      `${field}: ${issue?.message ?? 'invalid'}. Send { "host": "<name|ip|machine id>" (or "hosts": [ … ]), "duration": "${DURATIONS.join('|')}", "reason": "…" }.`,
    );
    return;
  }
  const common = {
    actor: caller.actor,
    durationHours: durationHours(parsed.data.duration),
    reason: parsed.data.reason,
    source: 'api' as const,
    channel: null,
    ...(parsed.data.isolation_type ? { isolationType: parsed.data.isolation_type } : {}),
    ...(parsed.data.ticket ? { ticket: parsed.data.ticket } : {}),
  };
  if (parsed.data.hosts) {
    await lockSeveral(deps, caller, parsed.data.hosts, common, res);
    return;
  }
  const query = parseHostQuery(parsed.data.host ?? '');
  if (!query.ok) {
    apiError(
      res,
      400,
      'bad_host',
      `host: ${query.problem.replace(/_/g, ' ')}. Name a host, an IP or a machine id.`,
    );
    return;
  }
  const result = await requestLockdown(deps.lockdown, { ...common, query: query.query });
  if (!result.ok) {
    apiError(
      res,
      requestRefusalStatus[result.error],
      result.error,
      refusalMessage(result, caller.scopes.includes('lockdown:view')),
    );
    return;
  }
  const l = result.value.lockdown;
  sendJson(res, l.state === 'pending_approval' ? 202 : 201, lockdownView(l));
}

/** A host of `hosts` left out of the request, and why (its `error` as the API's errors are). */
export const LeftOutView = z.object({
  host: z.string().meta({ description: 'the host as it was sent' }),
  error: z.object({ code: z.string(), message: z.string() }),
});

/** The answer to `{ "hosts": [...] }`: one request, one lockdown per host, the rest left out. */
export const LockRequestView = z.object({
  request_id: z.string(),
  lockdowns: z.array(LockdownView),
  left_out: z.array(LeftOutView),
});

/** Why a host of several was left out: the single-host sentence, or the duplicate it is. */
function leftOutView(r: RefusedHost, canView: boolean): z.infer<typeof LeftOutView> {
  const message =
    r.error === 'duplicate'
      ? 'That host is already in this request (named twice, or by another of its names).'
      : refusalMessage(
          {
            ok: false,
            error: r.error,
            ...(r.candidates ? { candidates: r.candidates } : {}),
            ...(r.existing ? { existing: r.existing } : {}),
          },
          canView,
        );
  return { host: r.query, error: { code: r.error, message } };
}

/**
 * `{ "hosts": [...] }` (issue #18, item 2): one request for them all, the same rules per host as
 * for one. 202 while it awaits approval, 201 once approved; a host that cannot be locked is in
 * `left_out` with its reason. Nothing lockable: 409 `nothing_to_lock`, each host's reason beside it.
 */
async function lockSeveral(
  deps: LockdownRouteDeps,
  caller: ApiCaller,
  hosts: string[],
  common: Omit<RequestsInput, 'queries'>,
  res: ServerResponse,
): Promise<void> {
  const queries = [];
  for (const [i, h] of hosts.entries()) {
    const q = parseHostQuery(h);
    if (!q.ok) {
      apiError(
        res,
        400,
        'bad_host',
        `hosts.${i}: ${q.problem.replace(/_/g, ' ')}. Name a host, an IP or a machine id.`,
      );
      return;
    }
    queries.push(q.query);
  }
  const canView = caller.scopes.includes('lockdown:view');
  const r = await requestLockdowns(deps.lockdown, { ...common, queries });
  if (!r.ok) {
    if (r.error === 'too_many_hosts') {
      apiError(
        res,
        400,
        'too_many_hosts',
        `hosts: at most ${r.limit ?? '?'} in one request (the settings' hosts per request). Split them into several requests.`,
      );
      return;
    }
    if (r.error === 'nothing_to_lock') {
      sendJson(res, 409, {
        error: {
          code: 'nothing_to_lock',
          message: "None of the hosts can be locked: each one's reason is in left_out.",
          left_out: (r.refused ?? []).map((x) => leftOutView(x, canView)),
        },
      });
      return;
    }
    apiError(res, requestRefusalStatus[r.error], r.error, refusalMessage({ ...r, error: r.error }, canView));
    return;
  }
  const pending = r.value.lockdowns.some((l) => l.state === 'pending_approval');
  sendJson(res, pending ? 202 : 201, {
    request_id: r.value.requestId,
    lockdowns: r.value.lockdowns.map(lockdownView),
    left_out: r.value.refused.map((x) => leftOutView(x, canView)),
  } satisfies z.infer<typeof LockRequestView>);
}

function releaseMessage(code: ReleaseRefusal, current?: Lockdown): string {
  const map: Record<ReleaseRefusal, string> = {
    forbidden: 'This token lacks the `lockdown:edit` scope.',
    not_found: 'No lockdown has that id. List them with GET /api/v2.1/lockdown/host.',
    not_open: `That lockdown has already ended${current ? ` (lockdown ${current.id} is ${current.state})` : ''}.`,
    already_releasing: `That lockdown is already being stopped${current ? ` (lockdown ${current.id} is ${current.state})` : ''}.`,
  };
  return map[code];
}

/**
 * `DELETE /api/v2.1/lockdown/host/{id}`: stops an open lockdown, named by its id (`host_id` in
 * the list) or by the machine id of its host, in any open state (`releaseLockdown`): a request is
 * withdrawn, an isolation cancelled, an active lockdown released. 202 with the lockdown as it
 * stands (its `state` says which); the work with Defender follows.
 */
export async function unlockHost(
  deps: LockdownRouteDeps,
  caller: ApiCaller,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  req.resume(); // a DELETE has no body worth reading
  const byMachine = /^[0-9a-f]{40}$/i.test(id)
    ? await deps.lockdown.lockdowns.openForMachine(id.toLowerCase())
    : null;
  const result = await releaseLockdown(deps.lockdown, {
    actor: caller.actor,
    lockdownId: byMachine?.id ?? id,
    reason: 'released through the REST API',
  });
  if (!result.ok) {
    apiError(
      res,
      releaseRefusalStatus[result.error],
      result.error,
      releaseMessage(result.error, result.current),
    );
    return;
  }
  sendJson(res, 202, lockdownView(result.value));
}

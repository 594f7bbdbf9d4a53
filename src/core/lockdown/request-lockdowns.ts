import { err, ok, type Result } from '../errors.js';
import type { HostQuery } from '../hosts/parse-host-query.js';
import type { Host } from '../hosts/types.js';
import { newId } from '../ids.js';
import { type Actor, can } from '../permissions.js';
import { recordDenial } from '../roles/record-denial.js';
import { HOSTS_PER_REQUEST_MAX } from '../settings/settings.js';
import type { LockdownDeps } from './ports.js';
import {
  type LockableHost,
  lockableRequest,
  newLockdownRow,
  noApprover,
  type RequestInput,
  type RequestRefusal,
  requestGate,
} from './request-lockdown.js';
import type { Lockdown } from './types.js';

/** Why one host of a request of several was left out of it. */
export type HostRefusal =
  | Exclude<
      RequestRefusal,
      // refusals of the whole request, decided before any host is looked at
      | 'forbidden'
      | 'containment_disabled'
      | 'bad_duration'
      | 'break_glass_forbidden'
      | 'no_approver_channel'
      // automatic lockdowns only, never a request of several hosts
      | 'capped'
    >
  | 'duplicate';

/** A host named in the request that is not part of it, and why (shown per host in the thread). */
export interface RefusedHost {
  /** what the requester named it by */
  query: string;
  error: HostRefusal;
  /** the machine it resolved to, when it did */
  host?: Pick<Host, 'machineId' | 'name'>;
  candidates?: Host[];
  existing?: Lockdown;
}

export type RequestsRefusal =
  | RequestRefusal
  /** more hosts than the settings' limit (only admins may name more), or than anyone may */
  | 'too_many_hosts'
  /** no host named could be locked: each one's reason is in `refused` */
  | 'nothing_to_lock';

export interface RequestsOk {
  requestId: string;
  /** one lockdown per host, in the order the hosts were named */
  lockdowns: Lockdown[];
  refused: RefusedHost[];
  postProblem?: string;
  /** hosts whose OS does not support the settings' Selective: isolated fully instead */
  isolationNotes: string[];
}

export type RequestsResult = Result<RequestsOk, RequestsRefusal> & {
  refused?: RefusedHost[];
  /** the limit that applied, for `too_many_hosts` */
  limit?: number;
};

export interface RequestsInput extends Omit<RequestInput, 'query' | 'auto' | 'origin' | 'exact'> {
  queries: HostQuery[];
}

/** The most hosts `actor` may name in one request: the settings' limit, or the hard cap for admins. */
export const hostsLimitFor = (actor: Actor, hostsPerRequest: number): number =>
  can(actor, 'settings:edit') ? HOSTS_PER_REQUEST_MAX : Math.min(hostsPerRequest, HOSTS_PER_REQUEST_MAX);

/**
 * A lockdown request of several hosts (issue #18, item 2): the same checks as a request of one
 * (requestLockdown) for the requester and for each host, then one lockdown per lockable host,
 * written in one transaction under one request id, with one approval message listing every host;
 * one decision moves them all (decideRequest). A host that cannot be locked (unknown, excluded,
 * isolated outside hostlock, already locked, named twice, or named by the start of its name
 * only…) is left out and said so, per host. Every host Defender is asked about (not in the
 * inventory, or its record older than the poll interval) spends the requester's lookup quota,
 * whoever asks.
 */
export async function requestLockdowns(deps: LockdownDeps, input: RequestsInput): Promise<RequestsResult> {
  const gate = await requestGate(deps, input, input.queries.map((q) => q.value).join(' '));
  if (!gate.ok) {
    return gate;
  }
  const settings = gate.value;
  const limit = hostsLimitFor(input.actor, settings.hostsPerRequest);
  if (input.queries.length > limit) {
    await recordDenial(deps, {
      actor: input.actor,
      rule: 'hosts_per_request',
      what: 'lockdown.request',
      details: { hosts: input.queries.length, limit },
    });
    return { ...err('too_many_hosts'), limit };
  }
  if (noApprover(settings, input)) {
    return err('no_approver_channel');
  }
  const refused: RefusedHost[] = [];
  const accepted: Array<{ query: string; lockable: LockableHost }> = [];
  const seen = new Map<string, string>();
  for (const query of input.queries) {
    const key = `${query.kind}:${query.value}`;
    if (seen.has(key)) {
      refused.push({ query: query.value, error: 'duplicate' });
      continue;
    }
    seen.set(key, query.value);
    const r = await lockableRequest(deps, input, settings, query, { quota: true, exact: true });
    if (!r.ok) {
      refused.push({ query: query.value, ...hostRefusal(r) });
      continue;
    }
    if (accepted.some((a) => a.lockable.host.machineId === r.value.host.machineId)) {
      // two names of one machine (its name and its IP): one lockdown
      refused.push({ query: query.value, error: 'duplicate', host: r.value.host });
      continue;
    }
    accepted.push({ query: query.value, lockable: r.value });
  }
  if (accepted.length === 0) {
    return { ...err('nothing_to_lock'), refused };
  }
  const requestId = newId('req');
  const now = deps.clock.now();
  const rows = accepted.map((a) => newLockdownRow(input, settings, a.lockable, now, requestId));
  const inserted = await deps.lockdowns.insertRequest(rows);
  const lockdowns: Lockdown[] = [];
  inserted.forEach((row, i) => {
    const a = accepted[i];
    if (!a) {
      return;
    }
    if (row === 'already_open') {
      // locked by someone else between the check and the insert
      refused.push({ query: a.query, error: 'already_open', host: a.lockable.host });
    } else {
      lockdowns.push(row);
    }
  });
  if (lockdowns.length === 0) {
    return { ...err('nothing_to_lock'), refused };
  }
  const posted = await announceRequestOf(deps, lockdowns, refused, {
    breakGlass: !!input.breakGlass,
    approval: settings.approvalRequired,
  });
  return ok({
    requestId,
    lockdowns: posted.lockdowns,
    refused,
    ...(posted.problem ? { postProblem: posted.problem } : {}),
    isolationNotes: accepted.flatMap((a) => (a.lockable.isolation.note ? [a.lockable.isolation.note] : [])),
  });
}

function hostRefusal(
  r: Extract<Awaited<ReturnType<typeof lockableRequest>>, { ok: false }>,
): Omit<RefusedHost, 'query'> {
  // the request-wide refusals were checked before any host (requestGate)
  const error = r.error as HostRefusal;
  return {
    error,
    ...(r.candidates ? { candidates: r.candidates } : {}),
    ...(r.existing ? { existing: r.existing } : {}),
  };
}

/**
 * Posts the request's one root message listing every host (its thread, shared by its lockdowns),
 * tells the thread which hosts were left out and why, and wakes the engine for each when no
 * approval is needed.
 */
async function announceRequestOf(
  deps: LockdownDeps,
  inserted: Lockdown[],
  refused: RefusedHost[],
  o: { breakGlass: boolean; approval: boolean },
): Promise<{ lockdowns: Lockdown[]; problem: string | undefined }> {
  const posted = await deps.announce.requestedMany(inserted);
  const where = posted.thread;
  const lockdowns: Lockdown[] = [];
  for (const l of inserted) {
    const updated = where
      ? await deps.lockdowns.update(l.id, [l.state, 'approved', 'isolating'], {
          approvalChannel: where.channel,
          approvalTs: where.ts,
        })
      : null;
    lockdowns.push(updated ?? l);
  }
  const first = lockdowns[0];
  if (first && refused.length) {
    await deps.lockdowns.note(first, 'hosts_left_out', JSON.stringify(leftOutOf(refused)));
  }
  if (first && o.breakGlass) {
    await deps.lockdowns.note(first, 'break_glass');
  }
  if (first && !o.approval) {
    await deps.lockdowns.note(first, 'lockdown.approved', 'approval is not required');
    const now = deps.clock.now();
    for (const l of lockdowns) {
      await deps.wake(l.id, now);
    }
  }
  return { lockdowns, problem: posted.problem };
}

/** What the thread is told of a left-out host: the name asked for and why, never other hosts. */
export interface LeftOut {
  query: string;
  error: HostRefusal;
  host?: string;
}

export const leftOutOf = (refused: RefusedHost[]): LeftOut[] =>
  refused.map((r) => ({
    query: r.query.slice(0, 255),
    error: r.error,
    ...(r.host ? { host: r.host.name } : {}),
  }));

/** The left-out hosts from a thread note's detail; nothing when it is not one. */
export function parseLeftOut(detail: string | undefined): LeftOut[] {
  try {
    const v: unknown = JSON.parse(detail ?? '[]');
    return Array.isArray(v)
      ? v.filter(
          (x): x is LeftOut =>
            typeof x === 'object' && x !== null && typeof x.query === 'string' && typeof x.error === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

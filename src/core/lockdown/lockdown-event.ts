import type { EventName, NotificationEvent } from '../events.js';
import { newId } from '../ids.js';
import { TRANSITIONS, type Trigger } from './machine.js';
import type { AuditRecord, Lockdown, TransitionBy } from './types.js';

const OUTCOME: Partial<Record<EventName, NotificationEvent['outcome']>> = {
  'lockdown.failed': 'failed',
  'lockdown.denied': 'denied',
  'lockdown.approval_expired': 'denied',
};

function detailOf(name: EventName, l: Lockdown, audit: AuditRecord): string | undefined {
  const d = audit.details ?? {};
  switch (name) {
    case 'lockdown.failed':
    case 'host.released_externally':
      return typeof d.why === 'string' ? d.why : (l.lastError ?? undefined);
    case 'lockdown.released':
      return `release reason: ${l.releaseReason ?? 'manual'}`;
    case 'lockdown.cancelled':
      return typeof d.why === 'string' ? d.why : undefined;
    case 'lockdown.escalated':
    case 'lockdown.stuck':
      return typeof d.why === 'string' ? d.why : undefined;
    case 'lockdown.extended':
      return typeof d.hours === 'number' ? `extended by ${d.hours} h` : undefined;
    case 'lockdown.requested':
      if (typeof d.exclusionMismatch === 'string') {
        return `matches exclusion rule ${d.exclusionMismatch} only by name or tag, set from the device and changed since the list was saved: not exempt`;
      }
      return l.breakGlass ? 'break glass: the exclusion list was overridden' : undefined;
    default:
      return audit.note;
  }
}

/** Who the event is about acting: the approver, the person who released, else the audit's actor. */
function actorOf(name: EventName, l: Lockdown, audit: AuditRecord): string {
  if ((name === 'lockdown.approved' || name === 'lockdown.denied') && l.approvedBy) {
    return l.approvedBy;
  }
  if (
    (name === 'lockdown.released' || name === 'lockdown.cancelled' || name === 'lockdown.withdrawn') &&
    l.releasedBy
  ) {
    return l.releasedBy;
  }
  return audit.actor;
}

/** The notification for a lockdown change, built from the row as it stands after the change. */
export function lockdownEvent(
  name: EventName,
  l: Lockdown,
  audit: AuditRecord,
  ips: string[] | undefined,
  at: Date,
): NotificationEvent {
  const detail = detailOf(name, l, audit);
  return {
    id: newId('evt'),
    name,
    at,
    host: { name: l.hostName, machineId: l.machineId, ...(ips?.length ? { ips } : {}) },
    actor: actorOf(name, l, audit),
    ...(name === 'lockdown.locked' || name === 'lockdown.failed'
      ? { userId: l.approvedBy ?? l.requestedBy }
      : {}),
    lockdown: {
      id: l.id,
      state: l.state,
      durationMinutes: l.durationMinutes,
      reason: l.reason,
      expiresAt: l.expiresAt,
      lockedAt: l.lockedAt,
      releaseReason: l.releaseReason,
      source: l.source,
      requestedBy: l.requestedBy,
      ...(l.approvalChannel && l.approvalTs
        ? { thread: { channel: l.approvalChannel, ts: l.approvalTs } }
        : {}),
      ...(l.ticket ? { ticket: l.ticket } : {}),
      ...(l.ticketUrl ? { ticketUrl: l.ticketUrl } : {}),
    },
    outcome: OUTCOME[name] ?? (audit.outcome === 'ok' ? 'ok' : audit.outcome),
    ...(detail ? { detail } : {}),
  };
}

/**
 * The notifications a recorded change sends (`audit.events`, chosen by the transition table), built
 * from the row as it stands after the change. A request approved as it is made also says who
 * approved: nobody, since approval is not required.
 */
export function lockdownEvents(
  l: Lockdown,
  audit: AuditRecord,
  ips: string[] | undefined,
  at: Date,
): NotificationEvent[] {
  return (audit.events ?? []).map((name) =>
    lockdownEvent(
      name,
      l,
      name === audit.action
        ? audit
        : { actor: 'system:hostlock', action: name, outcome: 'ok', note: 'approval is not required' },
      ips,
      at,
    ),
  );
}

/**
 * What a transition records beside the row, as the table says: its audit action and the event it
 * sends; null for a transition the table does not audit (the engine's own start of an isolation).
 */
export function transitionRecord(trigger: Trigger, by: TransitionBy): AuditRecord | null {
  const tr = TRANSITIONS[trigger];
  if (!tr.audit) {
    return null;
  }
  return {
    actor: by.actor,
    action: tr.audit,
    outcome: 'ok',
    ...(by.details || by.via ? { details: { ...by.details, ...(by.via ? { via: by.via } : {}) } } : {}),
    ...(by.note ? { note: by.note } : {}),
    events: tr.event ? [tr.event] : [],
  };
}

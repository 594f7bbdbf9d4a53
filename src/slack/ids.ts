import { LOCKDOWN_DURATIONS_HOURS } from '../core/lockdown/machine.js';

/**
 * Action ids of every interactive element hostlock renders (DESIGN §3.3). Listeners and block
 * builders both read them from here, so a renamed id cannot leave a button without its handler.
 */
export const ActionId = {
  lockdownApprove: 'lockdown.approve',
  lockdownDeny: 'lockdown.deny',
  lockdownUnlock: 'lockdown.unlock',
  /** the requester confirms a request a workflow made in their name (issue #18, item 3) */
  lockdownConfirm: 'lockdown.confirm',
  lockdownExtend: 'lockdown.extend',
  hostLock: 'host.lock',
  hostRefresh: 'host.refresh',
} as const;
export type ActionId = (typeof ActionId)[keyof typeof ActionId];

/** callback_ids of hostlock's shortcuts (the manifest's `features.shortcuts`, issue #18 item 1). */
export const ShortcutId = {
  lookupMessage: 'hosts.lookup_from_message',
  lockMessage: 'hosts.lock_from_message',
} as const;

/** callback_ids of hostlock's Workflow Builder steps (the manifest's `functions`, issue #18 item 3). */
export const FunctionId = {
  lockHost: 'lock_host',
} as const;

/** callback_id of the modal "Lock hosts in message" opens. */
export const LOCK_MESSAGE_VIEW = 'lock_hosts';

/** One of the preset lockdown durations, in hours. */
export type DurationHours = (typeof LOCKDOWN_DURATIONS_HOURS)[number];
/** A preset duration as it travels in select option values and command text: `1h` … `24h`. */
export type DurationValue = `${DurationHours}h`;

/** What a `block_id` names: a Defender machine, a hostlock lockdown, or a request of several hosts. */
export interface ParsedBlockId {
  kind: 'host' | 'lockdown' | 'request';
  id: string;
}

const HOST_PREFIX = 'host:';
const LOCKDOWN_PREFIX = 'lockdown:';
const REQUEST_PREFIX = 'request:';
/** A request of several hosts: `req_` + base32 (core/ids.ts). */
export const REQUEST_ID = /^req_[0-9a-z]{1,40}$/;
// Defender machine ids are SHA-1 hex; upper case is tolerated because hand-typed ids arrive that way.
const MACHINE_ID = /^[0-9a-fA-F]{40}$/;
// Lockdown ids are `lck_` + base32 today; the looser shape keeps old rows clickable if the
// generator changes, while still refusing anything that could smuggle separators or markup.
const LOCKDOWN_ID = /^[A-Za-z0-9_]{1,64}$/;

/** `block_id` of the actions block that carries a host's Lock/Unlock controls: `host:<machineId>`. */
export function hostBlockId(machineId: string): string {
  return `${HOST_PREFIX}${machineId}`;
}

/** `block_id` of the actions block of a lockdown (approve, deny, extend): `lockdown:<id>`. */
export function lockdownBlockId(lockdownId: string): string {
  return `${LOCKDOWN_PREFIX}${lockdownId}`;
}

/** `block_id` of the actions block of a request of several hosts (issue #18, item 2): `request:<id>`. */
export function requestBlockId(requestId: string): string {
  return `${REQUEST_PREFIX}${requestId}`;
}

/**
 * Reads a `block_id` that came back in a click. Block ids are client-supplied, so anything that is
 * not exactly `host:<40 hex>`, `lockdown:<[A-Za-z0-9_]{1,64}>` or `request:req_<base32>` yields
 * `null`, never a guess.
 */
export function parseBlockId(blockId: string): ParsedBlockId | null {
  if (blockId.startsWith(REQUEST_PREFIX)) {
    const id = blockId.slice(REQUEST_PREFIX.length);
    return REQUEST_ID.test(id) ? { kind: 'request', id } : null;
  }
  if (blockId.startsWith(HOST_PREFIX)) {
    const id = blockId.slice(HOST_PREFIX.length);
    return MACHINE_ID.test(id) ? { kind: 'host', id } : null;
  }
  if (blockId.startsWith(LOCKDOWN_PREFIX)) {
    const id = blockId.slice(LOCKDOWN_PREFIX.length);
    return LOCKDOWN_ID.test(id) ? { kind: 'lockdown', id } : null;
  }
  return null;
}

/** The option value (and command token) for a preset duration: `4` → `4h`. */
export function durationOptionValue(hours: DurationHours): DurationValue {
  return `${hours}h`;
}

/** Every preset as its option value, shortest first: `1h 2h 4h 8h 12h 24h`. */
export const DURATION_VALUES: readonly DurationValue[] = LOCKDOWN_DURATIONS_HOURS.map(durationOptionValue);

/** Appended to a duration option on the host card for a selective isolation: `4h-selective`. */
export const SELECTIVE_SUFFIX = '-selective';

/** A host card's Lock choice: a preset duration, Full or Selective; null for anything forged. */
export function parseLockChoice(value: string): { hours: DurationHours; selective: boolean } | null {
  const selective = value.endsWith(SELECTIVE_SUFFIX);
  const hours = parseDuration(selective ? value.slice(0, -SELECTIVE_SUFFIX.length) : value);
  return hours ? { hours, selective } : null;
}

/**
 * Hours of a preset duration value, or `null` for anything else (`3h`, `04h`, `4`, ` 4h`): select
 * values can be forged, so only the exact preset spellings are accepted.
 */
export function parseDuration(value: string): DurationHours | null {
  for (const hours of LOCKDOWN_DURATIONS_HOURS) {
    if (value === durationOptionValue(hours)) {
      return hours;
    }
  }
  return null;
}

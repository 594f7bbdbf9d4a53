import type { DefenderMachine } from '../defender.js';
import type { AutoTrigger } from '../lockdown/types.js';

/** Isolation as hostlock derives it from Defender's machine actions (mde-api.md §6.5). */
export const ISOLATION_STATES = [
  'not_isolated',
  'isolating',
  'isolated_by_hostlock',
  'isolated_outside',
  'releasing',
] as const;
export type IsolationState = (typeof ISOLATION_STATES)[number];
/** Who isolated (or is isolating / releasing) the host: hostlock itself, or anyone else. */
export type IsolationSource = 'hostlock' | 'outside' | null;

/** A host as stored in `hosts`: Defender's facts plus hostlock's derived isolation. */
export interface Host extends Omit<DefenderMachine, 'lastIp'> {
  isolationState: IsolationState;
  isolationSource: IsolationSource;
  /** set when the machine vanished from Defender's list */
  goneAt: Date | null;
  syncedAt: Date;
}

/** The open hostlock lockdown of a host, as far as a card needs it. */
export interface OpenLockdown {
  id: string;
  state: string;
  requestedBy: string;
  approvedBy: string | null;
  lockedAt: Date | null;
  expiresAt: Date | null;
  durationMinutes: number;
  /** for automatic lockdowns: the scores that triggered it */
  trigger: AutoTrigger | null;
}

/** Defender's portal page of a machine. */
export type PortalLink = (machineId: string) => string;

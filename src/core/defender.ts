/**
 * The Defender port: what core needs from Microsoft Defender for Endpoint, in hostlock's own terms.
 * src/mde/ implements it over the MDE REST API and maps MDE's field names to these once.
 */

/** A machine as Defender reports it. Defender has no isolation field: see {@link DefenderAction}. */
export interface DefenderMachine {
  machineId: string;
  name: string;
  osPlatform: string | null;
  osVersion: string | null;
  ips: string[];
  lastIp: string | null;
  healthStatus: string | null;
  onboardingStatus: string | null;
  riskScore: string | null;
  exposureLevel: string | null;
  deviceValue: string | null;
  firstSeen: Date | null;
  lastSeen: Date | null;
  tags: string[];
  isPotentialDuplicate: boolean;
  mergedIntoMachineId: string | null;
}

export type DefenderActionType = 'Isolate' | 'Unisolate' | (string & {});
export type DefenderActionStatus =
  | 'Pending'
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'TimeOut'
  | 'Cancelled';

/** A machine action (isolate, release, …) and its progress. */
export interface DefenderAction {
  id: string;
  machineId: string;
  type: DefenderActionType;
  /** Full | Selective for isolation */
  scope: string | null;
  status: DefenderActionStatus;
  requestor: string | null;
  comment: string | null;
  createdAt: Date;
  updatedAt: Date | null;
}

export type IsolationType = 'Full' | 'Selective';

/**
 * What a Defender call is for: it decides the call's share of Defender's rate budget. Lockdown
 * steps come first and have a reserve; lookups and the sync share the rest (issue #14, finding 4).
 */
export type DefenderPurpose = 'lockdown' | 'lookup' | 'sync';

export interface ActionFilter {
  machineId?: string;
  type?: DefenderActionType;
  status?: DefenderActionStatus;
  /** only actions created at or after this time */
  since?: Date;
  /** at most this many (newest first), following Defender's paging; default 100 */
  top?: number;
}

/** Machines handed to `listMachines`' callback at a time. */
export const MACHINE_BATCH = 1_000;

export interface Defender {
  /**
   * Every machine, following Defender's paging. With `onBatch`, machines are handed over in
   * batches of up to {@link MACHINE_BATCH} as their bytes arrive, each awaited before more is read,
   * and none is kept (a 100 000-machine fleet is never in memory at once); the result is then
   * empty. A page read again after its connection broke hands its batches over again, so a batch
   * may repeat. Without `onBatch`, all machines are returned.
   */
  listMachines(onBatch?: (batch: DefenderMachine[]) => void | Promise<void>): Promise<DefenderMachine[]>;
  /** The machine, or null when Defender does not know the id. */
  getMachine(machineId: string): Promise<DefenderMachine | null>;
  /** Machines seen with this internal IP around `at` (±15 min, within the last 30 days). */
  findMachinesByIp(ip: string, at: Date): Promise<DefenderMachine[]>;
  /** Machines whose DNS name equals `name` or, with `prefix`, starts with it; at most `top` (default 100). */
  findMachinesByName(name: string, opts?: { prefix?: boolean; top?: number }): Promise<DefenderMachine[]>;
  /** Submits isolation; resolves to the new (usually Pending) action. */
  isolate(machineId: string, comment: string, type: IsolationType): Promise<DefenderAction>;
  /** Submits release; resolves to the new (usually Pending) action. */
  release(machineId: string, comment: string): Promise<DefenderAction>;
  /** Machine actions matching the filter, newest first. */
  listActions(filter: ActionFilter): Promise<DefenderAction[]>;
  getAction(actionId: string): Promise<DefenderAction | null>;
  /** Cancels an action that is not final yet; resolves to the cancelled action. */
  cancelAction(actionId: string, comment: string): Promise<DefenderAction>;
  /**
   * Runs `fn` with `calls` Defender calls set aside from the rate budget, waiting for them first
   * while holding nothing. Calls made inside spend them and never wait for the budget: beyond
   * them, or when Defender asks to wait (429), they fail at once with a retryable error. Calls not
   * made are given back. A lockdown step takes its row lock inside, so it never waits for budget
   * while holding the lock (issue #14, finding 4).
   */
  withCalls<T>(calls: number, fn: () => Promise<T>): Promise<T>;
}

import type { DefenderMachine } from '../defender.js';
import type { Isolation } from './derive-isolation.js';
import type { HostQuery } from './parse-host-query.js';
import type { Host, OpenLockdown } from './types.js';

export interface HostMatches {
  hosts: Host[];
  total: number;
  /** the open hostlock lockdown of each host returned that has one, by machine id */
  lockdowns: ReadonlyMap<string, OpenLockdown>;
}

/** Persistence of the host inventory (implemented in src/db/repos/hosts.ts). */
export interface HostStore {
  /**
   * Best matches first (exact, then short name, then prefix), at most `limit`, with the total count
   * and the open lockdowns of the hosts returned (read in the same statement).
   */
  search(q: HostQuery, limit: number): Promise<HostMatches>;
  /** {@link HostStore.search} for many queries at once (two statements, whatever their number); answers in the order asked. */
  searchMany(queries: readonly HostQuery[], limit: number): Promise<Array<{ hosts: Host[]; total: number }>>;
  get(machineId: string): Promise<Host | null>;
  /** Upserts Defender's facts in one statement (every row written: a lookup's fresh read); isolation columns are left alone. */
  upsertMachines(machines: readonly DefenderMachine[], syncedAt: Date): Promise<void>;
  /** Starts an inventory run's listing (forgets the previous run's); returns the run's mark for markGone. */
  startListing(): Promise<string>;
  /**
   * One batch of the run's listing: notes each machine as listed, writes those whose facts changed
   * (or that were gone) and inserts new ones, in one statement; isolation columns are left alone.
   * A batch may come twice.
   */
  recordListed(machines: readonly DefenderMachine[], runStartedAt: Date): Promise<void>;
  /**
   * Marks gone the hosts this run did not list (and no lookup refreshed since `runStartedAt`);
   * returns how many, and how many distinct hosts the run listed. Throws, marking nothing, when the
   * run's listing is not whole (`run` is startListing's mark).
   */
  markGone(runStartedAt: Date, run: string): Promise<{ gone: number; listed: number }>;
  /** Writes derived isolation where it changed; returns how many rows changed. */
  setIsolation(updates: ReadonlyArray<{ machineId: string } & Isolation>): Promise<number>;
  /**
   * Hosts isolated (or isolating / releasing), by name, at most `limit`; with `source`, only those
   * isolated by that party (`outside`: not by hostlock), filtered before the limit.
   */
  isolated(limit: number, o?: { source?: 'hostlock' | 'outside' }): Promise<{ hosts: Host[]; total: number }>;
  /** Every current machine's id, name and tags (for pinning exclusion rules when they are saved). */
  identities(): Promise<Array<{ machineId: string; name: string; tags: string[] }>>;
  /** Machine ids currently isolating or releasing. */
  transitional(): Promise<string[]>;
  /** Defender action ids hostlock itself submitted (isolate and release) for these machines. */
  ownActionIds(machineIds: readonly string[]): Promise<Set<string>>;
  /** Open lockdowns of these machines, by machine id. */
  openLockdowns(machineIds: readonly string[]): Promise<Map<string, OpenLockdown>>;
}

export type DefenderUnavailable = 'not_configured' | 'paused';

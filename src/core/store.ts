import type { ApiTokenRepo } from './api-tokens/ports.js';
import type { NotificationEvent } from './events.js';
import type { RoleRepo } from './roles/ports.js';
import type { ScoreRepo } from './scores/ports.js';
import type { SecretRepo, SettingsRepo } from './settings/ports.js';

/** One row of the append-only audit trail. `details` are scrubbed of secrets by the adapter. */
export interface AuditEntry {
  /** e.g. `slack:U123`, `api:tok_…`, `system:bootstrap` */
  actor: string;
  /** e.g. `settings.changed`, `role.granted`, `authz.denied` */
  action: string;
  targetType?: string;
  targetId?: string;
  outcome: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
}

export interface AuditLog {
  append(e: AuditEntry): Promise<void>;
  /**
   * Counts one refusal under `key` in a window of `windowMs`: `first` for the first of a window
   * (which gets an audit row), with how many the previous window had.
   */
  countRefusal(key: string, windowMs: number): Promise<{ first: boolean; previousWindow: number }>;
  /** Holds `key` until the transaction ends: serialises a look-back and the write that follows it. */
  serialize(key: string): Promise<void>;
  /** Whether an entry like this, with `details.why` and `details.announced`, was written since `since`. */
  recentlyAnnounced(q: {
    targetType: string;
    targetId: string;
    action: string;
    why: string;
    since: Date;
  }): Promise<boolean>;
}

/** Notifications queued with the change they report (src/db/repos/outbox.ts). */
export interface Outbox {
  /** Queues each event once per configured sink, in the caller's transaction; returns the rows written. */
  enqueue(events: readonly NotificationEvent[]): Promise<number>;
  /** Gives up the undelivered rows of sinks not in `keep` (removed from the settings); returns how many. */
  abandonOtherSinks(keep: readonly string[], now: Date): Promise<number>;
}

/** The repositories a verb writes through, all bound to one connection or one transaction. */
export interface Repos {
  audit: AuditLog;
  outbox: Outbox;
  roles: RoleRepo;
  tokens: ApiTokenRepo;
  settings: SettingsRepo;
  secrets: SecretRepo;
  scores: ScoreRepo;
}

/**
 * The persistence port of every verb except the lockdown engine's (which has its own row-locking
 * `LockdownStore`): reads go straight to `Repos`, and a verb's mutation, audit row and outbox rows
 * go through one `transaction`, so they commit together or not at all.
 */
export interface Store extends Repos {
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
}

import type { SecretBox } from '../core/secrets.js';
import type { Repos, Store } from '../core/store.js';
import type { Database } from './client.js';
import { apiTokenRepo } from './repos/api-tokens.js';
import { auditLog } from './repos/audit.js';
import { outboxRepo } from './repos/outbox.js';
import { roleRepo } from './repos/roles.js';
import { scoreRepo } from './repos/scores.js';
import { secretStore } from './repos/secrets.js';
import { settingsRepo } from './repos/settings.js';

/** The sealing key of secrets at rest (the master key's box and its id). */
export interface Sealing {
  box: SecretBox;
  keyId: string;
}

/** The tables this process keeps in memory (src/db/change-feed.ts), told of when written here. */
export type CachedTable = 'settings' | 'role_bindings';

function reposOn(db: Database, sealing: Sealing, wrote: (table: CachedTable) => void): Repos {
  const roles = roleRepo(db);
  const settings = settingsRepo(db);
  return {
    audit: auditLog(db),
    outbox: outboxRepo(db),
    roles: {
      ...roles,
      add: (b, by) => roles.add(b, by).finally(() => wrote('role_bindings')),
      remove: (b) => roles.remove(b).finally(() => wrote('role_bindings')),
    },
    tokens: apiTokenRepo(db),
    settings: {
      ...settings,
      saveIfVersion: (patch, by, v) => settings.saveIfVersion(patch, by, v).finally(() => wrote('settings')),
    },
    secrets: secretStore(db, sealing.box, sealing.keyId),
    scores: scoreRepo(db),
  };
}

/**
 * Core's `Store` over PostgreSQL: each repository bound to the pool, and `transaction` handing a
 * verb the same repositories bound to one transaction (drizzle's; a throw rolls everything back).
 * `changed` hears of writes to cached tables once they are committed (a transaction's when it
 * ends, either way: a rolled-back write only costs a fresh read), so this process sees its own
 * change at once rather than when the database's notification arrives.
 */
export function createStore(
  db: Database,
  sealing: Sealing,
  changed: (table: CachedTable) => void = () => {},
): Store {
  return {
    ...reposOn(db, sealing, changed),
    async transaction(fn) {
      const touched = new Set<CachedTable>();
      try {
        return await db.transaction((tx) => fn(reposOn(tx, sealing, (t) => touched.add(t))));
      } finally {
        for (const t of touched) {
          changed(t);
        }
      }
    },
  };
}

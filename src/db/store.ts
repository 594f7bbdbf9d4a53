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

function reposOn(db: Database, sealing: Sealing): Repos {
  return {
    audit: auditLog(db),
    outbox: outboxRepo(db),
    roles: roleRepo(db),
    tokens: apiTokenRepo(db),
    settings: settingsRepo(db),
    secrets: secretStore(db, sealing.box, sealing.keyId),
    scores: scoreRepo(db),
  };
}

/**
 * Core's `Store` over PostgreSQL: each repository bound to the pool, and `transaction` handing a
 * verb the same repositories bound to one transaction (drizzle's; a throw rolls everything back).
 */
export function createStore(db: Database, sealing: Sealing): Store {
  return {
    ...reposOn(db, sealing),
    transaction: (fn) => db.transaction((tx) => fn(reposOn(tx, sealing))),
  };
}

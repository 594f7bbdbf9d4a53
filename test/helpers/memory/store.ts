import type { ApiTokenSummary } from '../../../src/core/api-tokens/ports.js';
import type { ApiScope } from '../../../src/core/api-tokens/tokens.js';
import type { NotificationEvent } from '../../../src/core/events.js';
import type { RoleBinding } from '../../../src/core/roles/ports.js';
import type { NewScore } from '../../../src/core/scores/ports.js';
import type { AuditEntry, Repos, Store } from '../../../src/core/store.js';
import { parseSettings } from '../../../src/db/repos/settings.js';

// An in-memory implementation of core's Store port, for the core unit tests: the same contract as
// src/db/store.ts (a transaction commits everything or nothing), with no I/O.

interface TokenRow extends ApiTokenSummary {
  hash: string;
  revoked: boolean;
}

export interface MemoryState {
  audit: AuditEntry[];
  outbox: NotificationEvent[];
  roles: Array<RoleBinding & { grantedBy: string }>;
  tokens: TokenRow[];
  settings: { data: Record<string, unknown>; version: number };
  secrets: Record<string, { value: string; setAt: Date; setBy: string }>;
  scores: Array<NewScore & { id: number; receivedAt: Date }>;
}

export const emptyState = (): MemoryState => ({
  audit: [],
  outbox: [],
  roles: [],
  tokens: [],
  settings: { data: {}, version: 0 },
  secrets: {},
  scores: [],
});

const same = (a: RoleBinding, b: RoleBinding) =>
  a.role === b.role && a.subjectType === b.subjectType && a.subjectId === b.subjectId;

function reposOver(s: () => MemoryState, now: () => Date): Repos {
  const refusals = new Map<string, number>();
  return {
    audit: {
      append: async (e) => void s().audit.push(structuredClone(e)),
      serialize: async () => {},
      countRefusal: async (key) => {
        const n = (refusals.get(key) ?? 0) + 1;
        refusals.set(key, n);
        return { first: n === 1, previousWindow: 0 };
      },
      recentlyAnnounced: async (q) =>
        s().audit.some(
          (a) =>
            a.targetType === q.targetType &&
            a.targetId === q.targetId &&
            a.action === q.action &&
            a.details?.why === q.why &&
            a.details?.announced === true,
        ),
    },
    outbox: {
      enqueue: async (events) => {
        s().outbox.push(...events);
        return events.length;
      },
      abandonOtherSinks: async () => 0,
    },
    roles: {
      list: async () => s().roles.map(({ grantedBy: _, ...b }) => b),
      async add(b, grantedBy) {
        // the table's unique index is (role, subject)
        if (s().roles.some((r) => r.role === b.role && r.subjectId === b.subjectId)) {
          return false;
        }
        s().roles.push({ ...b, grantedBy });
        return true;
      },
      async remove(b) {
        const before = s().roles.length;
        s().roles = s().roles.filter((r) => !same(r, b));
        return s().roles.length < before;
      },
      lockHolders: async (role) =>
        s()
          .roles.filter((r) => r.role === role)
          .map((r) => r.subjectId),
    },
    tokens: {
      async insert(t) {
        if (s().tokens.some((x) => !x.revoked && x.name === t.name)) {
          return false;
        }
        s().tokens.push({
          id: t.id,
          name: t.name,
          hash: t.hash,
          scopes: [...t.scopes],
          createdBy: t.createdBy,
          createdAt: now(),
          lastUsedAt: null,
          expiresAt: t.expiresAt,
          revoked: false,
        });
        return true;
      },
      async revoke(name) {
        const row = s().tokens.find((x) => !x.revoked && x.name === name);
        if (!row) {
          return null;
        }
        row.revoked = true;
        return { id: row.id, scopes: row.scopes };
      },
      listActive: async () =>
        s()
          .tokens.filter((x) => !x.revoked)
          .sort((a, b) => a.name.localeCompare(b.name))
          .map(({ hash: _h, revoked: _r, ...t }) => t),
      async useActive(hash) {
        const row = s().tokens.find(
          (x) => !x.revoked && x.hash === hash && !!x.expiresAt && x.expiresAt.getTime() > now().getTime(),
        );
        if (!row) {
          return null;
        }
        row.lastUsedAt = now();
        return { id: row.id, name: row.name, scopes: row.scopes as ApiScope[], createdBy: row.createdBy };
      },
    },
    settings: {
      read: async () => parseSettings(s().settings.data),
      readVersioned: async () => ({
        settings: parseSettings(s().settings.data),
        version: s().settings.version,
      }),
      async saveIfVersion(patch, _by, expected) {
        if (s().settings.version !== expected) {
          return false;
        }
        s().settings = { data: { ...s().settings.data, ...structuredClone(patch) }, version: expected + 1 };
        return true;
      },
    },
    secrets: {
      has: async (name) => name in s().secrets,
      getAll: async (names) =>
        Object.fromEntries(names.flatMap((n) => (s().secrets[n] ? [[n, s().secrets[n]?.value ?? '']] : []))),
      async putAll(values, setBy) {
        for (const [name, value] of Object.entries(values)) {
          s().secrets[name] = { value, setAt: now(), setBy };
        }
      },
      async remove(names) {
        const gone = names.filter((n) => n in s().secrets);
        for (const n of gone) {
          delete s().secrets[n];
        }
        return gone.length;
      },
      meta: async (name) => {
        const x = s().secrets[name];
        return x ? { setAt: x.setAt, setBy: x.setBy } : null;
      },
    },
    scores: {
      async insert(rows) {
        return rows.map((r) => {
          const id = s().scores.length + 1;
          s().scores.push({ ...r, id, receivedAt: now() });
          return id;
        });
      },
      async deleteReceivedBefore(cutoff) {
        const before = s().scores.length;
        s().scores = s().scores.filter((x) => x.receivedAt.getTime() >= cutoff.getTime());
        return before - s().scores.length;
      },
    },
  };
}

/** The in-memory Store and its state, for assertions. A transaction that throws leaves the state as it was. */
export function memoryStore(o: { now?: () => Date } = {}): Store & { state: MemoryState } {
  const now = o.now ?? (() => new Date());
  let state = emptyState();
  const repos = reposOver(() => state, now);
  return {
    ...repos,
    get state() {
      return state;
    },
    async transaction(fn) {
      const snapshot = structuredClone(state);
      try {
        return await fn(repos);
      } catch (e) {
        state = snapshot;
        throw e;
      }
    },
  };
}

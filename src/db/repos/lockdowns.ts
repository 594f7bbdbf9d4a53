import { and, asc, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import { EVENTS, type EventName } from '../../core/events.js';
import { lockdownEvent } from '../../core/lockdown/lockdown-event.js';
import type {
  AuditRecord,
  Lockdown,
  LockdownPatch,
  LockdownStore,
  NewLockdown,
  ReleaseReason,
} from '../../core/lockdown/types.js';
import { type LockdownState, OPEN_LOCKDOWN_STATES } from '../../core/lockdown-states.js';
import { scrubSecrets } from '../../log.js';
import type { Database } from '../client.js';
import { auditEvents, hosts, lockdowns } from '../schema.js';
import { enqueueEvents } from './outbox.js';

type Row = typeof lockdowns.$inferSelect;

function toLockdown(r: Row): Lockdown {
  return {
    ...r,
    state: r.state as LockdownState,
    source: r.source as Lockdown['source'],
    releaseReason: r.releaseReason as ReleaseReason | null,
    trigger: r.trigger ?? null,
  };
}

const UNIQUE_VIOLATION = '23505';

const isEvent = (action: string): action is EventName => (EVENTS as readonly string[]).includes(action);

/**
 * The audit row of a change and, when its action is a notification event (DESIGN §3.8), the outbox
 * rows for every sink: in the caller's transaction, so they commit with the change or not at all.
 */
async function writeAudit(db: Database, row: Lockdown, a: AuditRecord): Promise<void> {
  await db.insert(auditEvents).values({
    actor: a.actor,
    action: a.action,
    targetType: 'lockdown',
    targetId: row.id,
    outcome: a.outcome,
    details: scrubSecrets(a.details ?? {}),
  });
  const names: EventName[] = isEvent(a.action) ? [a.action] : [];
  if (a.action === 'lockdown.requested' && row.state === 'approved') {
    names.push('lockdown.approved'); // no approval needed: the request is approved as it is made
  }
  if (names.length === 0) {
    return;
  }
  const [host] = await db.select({ ips: hosts.ips }).from(hosts).where(eq(hosts.machineId, row.machineId));
  const at = new Date();
  await enqueueEvents(
    db,
    names.map((n) =>
      lockdownEvent(
        n,
        row,
        n === a.action
          ? a
          : { actor: 'system:hostlock', action: n, outcome: 'ok', note: 'approval is not required' },
        host?.ips ?? undefined,
        at,
      ),
    ),
  );
}

/** LockdownStore over drizzle; `db` may be a transaction. */
export function lockdownStore(db: Database): LockdownStore {
  const store: LockdownStore = {
    async get(id) {
      const [row] = await db.select().from(lockdowns).where(eq(lockdowns.id, id));
      return row ? toLockdown(row) : null;
    },

    async insert(l: NewLockdown, audit, opts = {}) {
      try {
        return await db.transaction(async (tx) => {
          if (opts.autoCapPerHour !== undefined) {
            await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('hostlock.auto_cap', 0))`);
            const [c] = await tx.execute<{ n: number }>(sql`
              select count(*)::int as n from lockdowns
              where source = 'auto' and created_at > now() - interval '1 hour'`);
            if ((c?.n ?? 0) >= opts.autoCapPerHour) {
              return 'capped' as const;
            }
          }
          const [row] = await tx.insert(lockdowns).values(l).returning();
          if (!row) {
            throw new Error('insert returned no row');
          }
          const inserted = toLockdown(row);
          await writeAudit(tx, inserted, audit);
          return inserted;
        });
      } catch (e) {
        const code =
          (e as { cause?: { code?: string }; code?: string }).cause?.code ?? (e as { code?: string }).code;
        if (code === UNIQUE_VIOLATION) {
          return 'already_open';
        }
        throw e;
      }
    },

    async transition(id, from, patch: LockdownPatch, audit) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(lockdowns)
          .set({ ...patch, updatedAt: new Date() })
          .where(and(eq(lockdowns.id, id), inArray(lockdowns.state, [...from])))
          .returning();
        if (!row) {
          return null;
        }
        const next = toLockdown(row);
        if (audit) {
          await writeAudit(tx, next, audit);
        }
        return next;
      });
    },

    async withLock(id, fn, opts = {}) {
      return db.transaction(async (tx) => {
        // skip locked: a second worker (another process, a duplicate job) leaves it to the first.
        const rows = await tx.execute<{ id: string }>(
          opts.wait
            ? sql`select id from lockdowns where id = ${id} for update`
            : sql`select id from lockdowns where id = ${id} for update skip locked`,
        );
        if (rows.length === 0) {
          return 'busy' as const;
        }
        const inner = lockdownStore(tx);
        const row = await inner.get(id);
        if (!row) {
          return 'busy' as const;
        }
        return fn(row, inner);
      });
    },

    async due(now, limit) {
      const rows = await db
        .select({ id: lockdowns.id })
        .from(lockdowns)
        .where(and(inArray(lockdowns.state, [...OPEN_LOCKDOWN_STATES]), lte(lockdowns.nextCheckAt, now)))
        .orderBy(asc(lockdowns.nextCheckAt))
        .limit(limit);
      return rows.map((r) => r.id);
    },

    async openForMachine(machineId) {
      const [row] = await db
        .select()
        .from(lockdowns)
        .where(and(eq(lockdowns.machineId, machineId), inArray(lockdowns.state, [...OPEN_LOCKDOWN_STATES])));
      return row ? toLockdown(row) : null;
    },

    async listOpen(limit) {
      const rows = await db
        .select()
        .from(lockdowns)
        .where(inArray(lockdowns.state, [...OPEN_LOCKDOWN_STATES]))
        .orderBy(asc(lockdowns.createdAt))
        .limit(limit);
      return rows.map(toLockdown);
    },

    async history(machineId, limit) {
      const rows = await db
        .select()
        .from(lockdowns)
        .where(eq(lockdowns.machineId, machineId))
        .orderBy(desc(lockdowns.createdAt))
        .limit(limit);
      return rows.map(toLockdown);
    },
  };
  return store;
}

import { and, asc, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import { lockdownEvents, transitionRecord } from '../../core/lockdown/lockdown-event.js';
import { type LockdownState, OPEN_LOCKDOWN_STATES, TRANSITIONS } from '../../core/lockdown/machine.js';
import type {
  AuditRecord,
  Lockdown,
  LockdownStore,
  LockdownUpdate,
  NewLockdown,
  ReleaseReason,
} from '../../core/lockdown/types.js';
import { scrubSecrets } from '../../log.js';
import type { Database } from '../client.js';
import { LOCK_NOT_AVAILABLE, pgCode, UNIQUE_VIOLATION } from '../pg-errors.js';
import { auditEvents, hosts, lockdowns } from '../schema.js';
import { enqueueEvents, enqueueThreadNote } from './outbox.js';

type Row = typeof lockdowns.$inferSelect;

function toLockdown(r: Row): Lockdown {
  return {
    ...r,
    state: r.state as LockdownState,
    source: r.source as Lockdown['source'],
    releaseReason: r.releaseReason as ReleaseReason | null,
    isolationType: r.isolationType === 'Selective' ? 'Selective' : 'Full',
    trigger: r.trigger ?? null,
  };
}

/**
 * The audit row of a change and the outbox rows of the notifications it sends (`a.events`, from the
 * transition table) for every sink: in the caller's transaction, so they commit with the change.
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
  if (!a.events?.length) {
    return;
  }
  const [host] = await db.select({ ips: hosts.ips }).from(hosts).where(eq(hosts.machineId, row.machineId));
  await enqueueEvents(db, lockdownEvents(row, a, host?.ips ?? undefined, new Date()));
}

async function casUpdate(
  db: Database,
  id: string,
  from: readonly string[],
  set: LockdownUpdate & { state?: string },
): Promise<Lockdown | null> {
  const [row] = await db
    .update(lockdowns)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(lockdowns.id, id), inArray(lockdowns.state, [...from])))
    .returning();
  return row ? toLockdown(row) : null;
}

/** Lockdowns that hold, or are about to hold, a host isolated. */
export async function countIsolatingLockdowns(db: Database): Promise<number> {
  const [r] = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from lockdowns where state in ('isolating', 'active', 'releasing')`,
  );
  return r?.n ?? 0;
}

// One object of short repository methods over `db` (the LockdownStore port), not one long procedure.
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
        const code = pgCode(e);
        if (code === UNIQUE_VIOLATION) {
          return 'already_open';
        }
        throw e;
      }
    },

    async insertRequest(rows) {
      // Machines are taken in one order, whoever asks: each insert holds its machine's key in the
      // one-open-per-machine index until commit, so two requests naming the same hosts in opposite
      // orders would otherwise each wait for the other (a deadlock); in one order, the later waits
      // and finds them taken.
      const order = rows
        .map((_, i) => i)
        .sort((a, b) => {
          const x = rows[a]?.l.machineId ?? '';
          const y = rows[b]?.l.machineId ?? '';
          return x < y ? -1 : x > y ? 1 : 0;
        });
      return db.transaction(async (tx) => {
        const out: Array<Lockdown | 'already_open'> = new Array(rows.length);
        for (const i of order) {
          const { l, audit } = rows[i] as (typeof rows)[number];
          try {
            // a savepoint each: a host locked meanwhile (unique index) does not undo the others
            out[i] = await tx.transaction(async (sp) => {
              const [row] = await sp.insert(lockdowns).values(l).returning();
              if (!row) {
                throw new Error('insert returned no row');
              }
              const inserted = toLockdown(row);
              await writeAudit(sp, inserted, audit);
              return inserted;
            });
          } catch (e) {
            const code = pgCode(e);
            if (code !== UNIQUE_VIOLATION) {
              throw e;
            }
            out[i] = 'already_open';
          }
        }
        return out;
      });
    },

    async ofRequest(requestId) {
      const rows = await db
        .select()
        .from(lockdowns)
        .where(eq(lockdowns.requestId, requestId))
        .orderBy(asc(lockdowns.hostName), asc(lockdowns.id));
      return rows.map(toLockdown);
    },

    async tryLockRequest(requestId) {
      const [r] = await db.execute<{ ok: boolean }>(
        sql`select pg_try_advisory_xact_lock(hashtextextended(${`hostlock.request:${requestId}`}, 0)) as ok`,
      );
      return r?.ok === true;
    },

    async transitionRequest(requestId, trigger, patch, by, opts = {}) {
      const tr = TRANSITIONS[trigger];
      const run = db.transaction(async (tx) => {
        const from = sql.join(
          tr.from.map((s) => sql`${s}`),
          sql`, `,
        );
        const ids = await tx.execute<{ id: string }>(
          opts.nowait
            ? sql`select id from lockdowns where request_id = ${requestId} and state in (${from}) order by id for update nowait`
            : sql`select id from lockdowns where request_id = ${requestId} and state in (${from}) order by id for update`,
        );
        const moved: Lockdown[] = [];
        const record = transitionRecord(trigger, by);
        for (const { id } of ids) {
          const next = await casUpdate(tx, id, tr.from, { ...patch, state: tr.to });
          if (!next) {
            continue;
          }
          if (record) {
            await writeAudit(tx, next, record);
          }
          if (by.thread && moved.length === 0) {
            await enqueueThreadNote(tx, { ...by.thread, lockdown: next });
          }
          moved.push(next);
        }
        return moved;
      });
      try {
        return await run;
      } catch (e) {
        // 55P03 lock_not_available: another transaction holds a row (only asked for with nowait);
        // inside a caller's transaction this was a savepoint, rolled back on its own
        const code = pgCode(e);
        if (opts.nowait && code === LOCK_NOT_AVAILABLE) {
          return 'busy';
        }
        throw e;
      }
    },

    async transition(id, trigger, patch, by) {
      const tr = TRANSITIONS[trigger];
      return db.transaction(async (tx) => {
        const next = await casUpdate(tx, id, tr.from, { ...patch, state: tr.to });
        const record = transitionRecord(trigger, by);
        if (next && record) {
          await writeAudit(tx, next, record);
        }
        if (next && by.thread) {
          await enqueueThreadNote(tx, { ...by.thread, lockdown: next });
        }
        return next;
      });
    },

    async update(id, states, patch) {
      return casUpdate(db, id, states, patch);
    },

    async note(l, name, detail) {
      await enqueueThreadNote(db, { name, ...(detail ? { detail } : {}), lockdown: l });
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

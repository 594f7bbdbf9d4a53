import type { DefenderMachine } from '../../../src/core/defender.js';
import type { NotificationEvent } from '../../../src/core/events.js';
import type { HostStore } from '../../../src/core/hosts/ports.js';
import type { Host } from '../../../src/core/hosts/types.js';
import { lockdownEvents, transitionRecord } from '../../../src/core/lockdown/lockdown-event.js';
import { isOpen, TRANSITIONS } from '../../../src/core/lockdown/machine.js';
import type { AuditRecord, Lockdown, LockdownStore } from '../../../src/core/lockdown/types.js';

// In-memory LockdownStore and HostStore with the contract of src/db/repos/{lockdowns,hosts}.ts:
// compare-and-set by the transition table, one open lockdown per machine, audit and events
// recorded with the change. Locks are not modelled: the unit tests run one thing at a time.

export interface LockdownMemory {
  rows: Map<string, Lockdown>;
  audit: Array<AuditRecord & { targetId: string }>;
  events: NotificationEvent[];
  /** thread posts queued (`note`), in order */
  notes: Array<{ lockdownId: string; name: string; detail?: string }>;
}

export function memoryLockdowns(o: { now?: () => Date } = {}): LockdownStore & { memory: LockdownMemory } {
  const now = o.now ?? (() => new Date());
  const memory: LockdownMemory = { rows: new Map(), audit: [], events: [], notes: [] };
  const record = (row: Lockdown, a: AuditRecord) => {
    memory.audit.push({ ...a, targetId: row.id });
    memory.events.push(...lockdownEvents(row, a, undefined, now()));
  };
  const cas = (id: string, from: readonly string[], set: Partial<Lockdown>): Lockdown | null => {
    const row = memory.rows.get(id);
    if (!row || !from.includes(row.state)) {
      return null;
    }
    const next = { ...row, ...set, updatedAt: now() };
    memory.rows.set(id, next);
    return { ...next };
  };
  const store: LockdownStore & { memory: LockdownMemory } = {
    memory,
    async note(l, name, detail) {
      if (l.approvalChannel && l.approvalTs) {
        memory.notes.push({ lockdownId: l.id, name, ...(detail ? { detail } : {}) });
      }
    },
    get: async (id) => {
      const row = memory.rows.get(id);
      return row ? { ...row } : null;
    },
    async insert(l, audit, opts = {}) {
      if ([...memory.rows.values()].some((r) => r.machineId === l.machineId && isOpen(r.state))) {
        return 'already_open';
      }
      if (opts.autoCapPerHour !== undefined) {
        const hourAgo = now().getTime() - 3_600_000;
        const made = [...memory.rows.values()].filter(
          (r) => r.source === 'auto' && r.createdAt.getTime() > hourAgo,
        ).length;
        if (made >= opts.autoCapPerHour) {
          return 'capped';
        }
      }
      const at = now();
      const row: Lockdown = {
        approvedBy: null,
        decidedAt: null,
        mdeActionId: null,
        mdeReleaseActionId: null,
        lockedAt: null,
        expiresAt: null,
        releasedAt: null,
        releaseReason: null,
        releasedBy: null,
        attempts: 0,
        lastError: null,
        approvalChannel: null,
        approvalTs: null,
        pendingNotedAt: null,
        escalatedAt: null,
        remindedAt: null,
        trigger: null,
        ...l,
        ticket: l.ticket ?? null,
        ticketUrl: l.ticketUrl ?? null,
        requestId: l.requestId ?? null,
        awaitingConfirmation: l.awaitingConfirmation ?? false,
        createdAt: at,
        updatedAt: at,
      };
      memory.rows.set(row.id, row);
      record(row, audit);
      return { ...row };
    },
    async transition(id, trigger, patch, by) {
      const tr = TRANSITIONS[trigger];
      const next = cas(id, tr.from, { ...patch, state: tr.to });
      const audit = transitionRecord(trigger, by);
      if (next && audit) {
        record(next, audit);
      }
      if (next && by.thread) {
        await store.note(next, by.thread.name, by.thread.detail);
      }
      return next;
    },
    async insertRequest(rows) {
      const out = [];
      for (const { l, audit } of rows) {
        out.push(await store.insert(l, audit));
      }
      return out as Array<Lockdown | 'already_open'>;
    },
    ofRequest: async (requestId) =>
      [...memory.rows.values()]
        .filter((r) => r.requestId === requestId)
        .sort((a, b) => a.hostName.localeCompare(b.hostName))
        .map((r) => ({ ...r })),
    tryLockRequest: async () => true,
    async transitionRequest(requestId, trigger, patch, by) {
      const tr = TRANSITIONS[trigger];
      const ids = [...memory.rows.values()]
        .filter((r) => r.requestId === requestId && (tr.from as readonly string[]).includes(r.state))
        .map((r) => r.id)
        .sort();
      const moved: Lockdown[] = [];
      for (const id of ids) {
        // (no other transaction exists here: `nowait` never finds a row held)
        const next = await store.transition(id, trigger, patch, {
          ...by,
          ...(moved.length ? { thread: undefined } : {}),
        });
        if (next) {
          moved.push(next);
        }
      }
      return moved;
    },
    update: async (id, states, patch) => cas(id, states, patch),
    async withLock(id, fn) {
      const row = memory.rows.get(id);
      return row ? fn({ ...row }, store) : 'busy';
    },
    due: async (at, limit) =>
      [...memory.rows.values()]
        .filter((r) => isOpen(r.state) && r.nextCheckAt && r.nextCheckAt.getTime() <= at.getTime())
        .slice(0, limit)
        .map((r) => r.id),
    openForMachine: async (machineId) =>
      [...memory.rows.values()].find((r) => r.machineId === machineId && isOpen(r.state)) ?? null,
    listOpen: async (limit) => [...memory.rows.values()].filter((r) => isOpen(r.state)).slice(0, limit),
    history: async (machineId, limit) =>
      [...memory.rows.values()].filter((r) => r.machineId === machineId).slice(0, limit),
  };
  return store;
}

/** A host as the inventory holds it, fresh and not isolated unless told otherwise. */
export function host(o: Partial<Host> & { machineId: string; name: string }): Host {
  return {
    osPlatform: 'Windows11',
    osVersion: null,
    ips: [],
    healthStatus: 'Active',
    onboardingStatus: 'Onboarded',
    riskScore: 'Low',
    exposureLevel: 'Low',
    deviceValue: null,
    firstSeen: null,
    lastSeen: null,
    tags: [],
    isPotentialDuplicate: false,
    mergedIntoMachineId: null,
    isolationState: 'not_isolated',
    isolationSource: null,
    goneAt: null,
    syncedAt: new Date(),
    ...o,
  };
}

/** A machine as Defender lists it (what a sync upserts), seen just now unless told otherwise. */
export function defenderMachine(
  o: Partial<DefenderMachine> & { machineId: string; name: string },
): DefenderMachine {
  return {
    osPlatform: 'Windows11',
    osVersion: null,
    ips: [],
    lastIp: null,
    healthStatus: 'Active',
    onboardingStatus: 'Onboarded',
    riskScore: 'Low',
    exposureLevel: 'Low',
    deviceValue: 'Normal',
    firstSeen: null,
    lastSeen: new Date(),
    tags: [],
    isPotentialDuplicate: false,
    mergedIntoMachineId: null,
    ...o,
  };
}

/** An in-memory inventory: search by machine id, IP or name prefix; the rest of the port unused by verbs. */
export function memoryHosts(hosts: Host[]): HostStore {
  const unused = () => Promise.reject(new Error('not used by the core unit tests'));
  return {
    async search(q, limit) {
      const found = hosts.filter((h) =>
        q.kind === 'machine_id'
          ? h.machineId === q.value
          : q.kind === 'ip'
            ? h.ips.includes(q.value)
            : h.name.toLowerCase().startsWith(q.value),
      );
      return { hosts: found.slice(0, limit), total: found.length, lockdowns: new Map() };
    },
    async searchMany(queries, limit) {
      return Promise.all(queries.map((q) => this.search(q, limit)));
    },
    get: async (id) => hosts.find((h) => h.machineId === id) ?? null,
    upsertMachines: unused,
    startListing: unused,
    recordListed: unused,
    markGone: unused,
    setIsolation: async (u) => u.length,
    isolated: unused,
    transitional: unused,
    identities: async () => hosts.map((h) => ({ machineId: h.machineId, name: h.name, tags: h.tags })),
    ownActionIds: unused,
    openLockdowns: unused,
  };
}

import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../src/core/events.js';
import {
  isOpen,
  LOCKDOWN_STATES,
  type LockdownState,
  nextState,
  TRANSITIONS,
  TRIGGERS,
} from '../../../src/core/lockdown/machine.js';
import type { NewLockdown } from '../../../src/core/lockdown/types.js';
import { memoryLockdowns } from '../../helpers/memory/lockdowns.js';

const LEGAL: Array<[LockdownState, string, LockdownState]> = [
  ['pending_approval', 'approve', 'approved'],
  ['pending_approval', 'deny', 'denied'],
  ['pending_approval', 'expire_request', 'approval_expired'],
  ['pending_approval', 'withdraw', 'withdrawn'],
  ['pending_approval', 'escalate', 'pending_approval'],
  ['pending_approval', 'confirm', 'pending_approval'],
  ['approved', 'request_stop_approved', 'approved'],
  ['isolating', 'request_stop', 'isolating'],
  ['isolating', 'cancel_isolation', 'cancelled'],
  ['isolating', 'isolation_stuck', 'isolating'],
  ['releasing', 'release_stuck', 'releasing'],
  ['approved', 'start_isolation', 'isolating'],
  ['approved', 'fail', 'failed'],
  ['isolating', 'isolated', 'active'],
  ['isolating', 'fail', 'failed'],
  ['active', 'release', 'releasing'],
  ['active', 'expire', 'releasing'],
  ['active', 'extend', 'active'],
  ['active', 'released_outside', 'released_externally'],
  ['releasing', 'released', 'released'],
  ['releasing', 'released_outside', 'released_externally'],
  ['releasing', 'fail', 'failed'],
];

describe('the lockdown transition table', () => {
  it('allows exactly the transitions of DESIGN §3.5', () => {
    const table = LOCKDOWN_STATES.flatMap((s) =>
      TRIGGERS.flatMap((t) => {
        const to = nextState(s, t);
        return to ? [[s, t, to] as const] : [];
      }),
    );
    expect(new Set(table.map((r) => r.join(' ')))).toEqual(new Set(LEGAL.map((r) => r.join(' '))));
  });

  it.each(
    LOCKDOWN_STATES.flatMap((s) =>
      TRIGGERS.filter((t) => nextState(s, t) === null).map((t) => [s, t] as const),
    ),
  )('refuses %s --%s-->', (state, trigger) => {
    expect(nextState(state, trigger)).toBeNull();
  });

  it('leaves no dead end: every open state has a way out, every closed state has none', () => {
    for (const s of LOCKDOWN_STATES) {
      const exits = TRIGGERS.filter((t) => {
        const to = nextState(s, t);
        return to !== null && to !== s;
      });
      expect(exits.length > 0, `${s} exits`).toBe(isOpen(s));
    }
  });

  it('notifies only with contract event names, and audits every state change but the engine’s own start', () => {
    for (const [trigger, tr] of Object.entries(TRANSITIONS)) {
      if (tr.event) {
        expect(EVENTS).toContain(tr.event);
        expect(tr.audit).toBe(tr.event);
      }
      expect(tr.audit !== null || trigger === 'start_isolation').toBe(true);
    }
  });
});

const request = (id: string, state: NewLockdown['state'] = 'pending_approval'): NewLockdown => ({
  id,
  machineId: `m-${id}`,
  hostName: `host-${id}`,
  state,
  durationMinutes: 60,
  reason: 'test',
  requestedBy: 'slack:U0ALICE001',
  requestedVia: null,
  source: 'manual',
  requestChannel: null,
  breakGlass: false,
  isolationType: 'Full',
  nextCheckAt: new Date(),
});

describe('the store’s compare-and-set follows the table', () => {
  it('refuses an illegal transition and changes nothing: no row change, no audit, no event', async () => {
    const store = memoryLockdowns();
    await store.insert(request('lck_a'), {
      actor: 'slack:U0ALICE001',
      action: 'lockdown.requested',
      outcome: 'ok',
    });
    const before = await store.get('lck_a');
    for (const trigger of ['release', 'isolated', 'released', 'extend', 'start_isolation'] as const) {
      expect(await store.transition('lck_a', trigger, {}, { actor: 'slack:U0BOB00001' })).toBeNull();
    }
    expect(await store.get('lck_a')).toEqual(before);
    expect(store.memory.audit.map((a) => a.action)).toEqual(['lockdown.requested']);
  });

  it('moves a legal transition to the table’s state and records its audit action and event', async () => {
    const store = memoryLockdowns();
    await store.insert(request('lck_b'), {
      actor: 'slack:U0ALICE001',
      action: 'lockdown.requested',
      outcome: 'ok',
    });
    const next = await store.transition(
      'lck_b',
      'deny',
      { approvedBy: 'slack:U0BOB00001' },
      { actor: 'slack:U0BOB00001' },
    );
    expect(next?.state).toBe('denied');
    expect(store.memory.audit.at(-1)).toMatchObject({ action: 'lockdown.denied', actor: 'slack:U0BOB00001' });
    expect(store.memory.events.map((e) => e.name)).toEqual(['lockdown.denied']);
    expect(await store.transition('lck_b', 'approve', {}, { actor: 'slack:U0CAROL01' })).toBeNull();
  });

  it('bookkeeping never changes the state', async () => {
    const store = memoryLockdowns();
    await store.insert(request('lck_c'), {
      actor: 'slack:U0ALICE001',
      action: 'lockdown.requested',
      outcome: 'ok',
    });
    expect(await store.update('lck_c', ['active'], { lastError: 'x' })).toBeNull();
    const row = await store.update('lck_c', ['pending_approval'], { lastError: 'y' });
    expect(row).toMatchObject({ state: 'pending_approval', lastError: 'y' });
  });
});

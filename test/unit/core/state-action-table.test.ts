import { describe, expect, it } from 'vitest';
import { decideLockdown } from '../../../src/core/lockdown/decide-lockdown.js';
import { extendLockdown } from '../../../src/core/lockdown/extend-lockdown.js';
import { LOCKDOWN_STATES, type LockdownState } from '../../../src/core/lockdown/machine.js';
import { releaseLockdown } from '../../../src/core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../../src/core/lockdown/request-lockdown.js';
import type { Lockdown } from '../../../src/core/lockdown/types.js';
import { host } from '../../helpers/memory/lockdowns.js';
import { RESPONDER, slack } from './actors.js';
import { lockdownDeps } from './lockdown-deps.js';

// The README's state × action table (issue #15, "Done when"), the people's columns: every state a
// lockdown can be in has an answer to lock, approve, deny, unlock and extend. The engine's columns
// (the planned end, Defender's success or failure, a release outside hostlock) are exercised by the
// integration tests the README names beside the table.

const WEB = host({ machineId: 'a'.repeat(40), name: 'web-01.contoso.com' });
const APPROVER = slack('U0RESP0002', 'responder');

type Answer = string;
const EXPECTED: Record<LockdownState, Record<'lock' | 'approve' | 'deny' | 'unlock' | 'extend', Answer>> = {
  pending_approval: {
    lock: 'already_open',
    approve: 'approved',
    deny: 'denied',
    unlock: 'withdrawn',
    extend: 'not_active',
  },
  approved: {
    lock: 'already_open',
    approve: 'not_pending',
    deny: 'not_pending',
    unlock: 'stopping',
    extend: 'not_active',
  },
  isolating: {
    lock: 'already_open',
    approve: 'not_pending',
    deny: 'not_pending',
    unlock: 'stopping',
    extend: 'not_active',
  },
  active: {
    lock: 'already_open',
    approve: 'not_pending',
    deny: 'not_pending',
    unlock: 'releasing',
    extend: 'extended',
  },
  releasing: {
    lock: 'already_open',
    approve: 'not_pending',
    deny: 'not_pending',
    unlock: 'already_releasing',
    extend: 'not_active',
  },
  denied: closed(),
  approval_expired: closed(),
  withdrawn: closed(),
  cancelled: closed(),
  released: closed(),
  released_externally: closed(),
  failed: closed(),
};
function closed() {
  return {
    lock: 'new request',
    approve: 'not_pending',
    deny: 'not_pending',
    unlock: 'not_open',
    extend: 'not_active',
  };
}

/** A lockdown of WEB in `state`, asked for by RESPONDER a minute ago. */
async function inState(state: LockdownState) {
  const t = lockdownDeps({ hosts: [WEB] });
  const r = await requestLockdown(t.deps, {
    actor: RESPONDER,
    query: { kind: 'machine_id', value: WEB.machineId },
    durationHours: 4,
    reason: 'table',
    source: 'manual',
    channel: 'C0000CHAN',
  });
  if (!r.ok) {
    throw new Error(r.error);
  }
  const now = t.deps.clock.now();
  const active =
    state === 'active' ? { lockedAt: now, expiresAt: new Date(now.getTime() + 4 * 3_600_000) } : {};
  const row: Lockdown = { ...r.value.lockdown, state, ...active };
  t.lockdowns.memory.rows.set(row.id, row);
  return { t, id: row.id };
}

async function answer(state: LockdownState, action: keyof (typeof EXPECTED)['active']): Promise<Answer> {
  const { t, id } = await inState(state);
  switch (action) {
    case 'lock': {
      const r = await requestLockdown(t.deps, {
        actor: APPROVER,
        query: { kind: 'machine_id', value: WEB.machineId },
        durationHours: 1,
        reason: '',
        source: 'manual',
        channel: 'C0000CHAN',
      });
      return r.ok ? 'new request' : r.error;
    }
    case 'approve':
    case 'deny': {
      const r = await decideLockdown(t.deps, { actor: APPROVER, lockdownId: id, decision: action });
      return r.ok ? r.value.state : r.error;
    }
    case 'unlock': {
      const r = await releaseLockdown(t.deps, { actor: RESPONDER, lockdownId: id });
      if (!r.ok) {
        return r.error;
      }
      const stopping = (r.value.state === 'isolating' || r.value.state === 'approved') && r.value.releasedBy;
      return stopping ? 'stopping' : r.value.state;
    }
    case 'extend': {
      const r = await extendLockdown(t.deps, { actor: APPROVER, lockdownId: id, hours: 1 });
      return r.ok ? 'extended' : r.error;
    }
  }
}

describe('every state has an answer to every action', () => {
  it('covers every state of the lifecycle', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...LOCKDOWN_STATES].sort());
  });

  const cells = Object.entries(EXPECTED).flatMap(([state, row]) =>
    Object.entries(row).map(([action, expected]) => [state, action, expected] as const),
  );
  it.each(cells)('%s × %s → %s', async (state, action, expected) => {
    expect(await answer(state as LockdownState, action as 'lock')).toBe(expected);
  });
});

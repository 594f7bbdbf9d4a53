import { describe, expect, it } from 'vitest';
import { decideLockdown } from '../../../src/core/lockdown/decide-lockdown.js';
import { extendLockdown } from '../../../src/core/lockdown/extend-lockdown.js';
import { releaseLockdown } from '../../../src/core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../../src/core/lockdown/request-lockdown.js';
import type { Lockdown } from '../../../src/core/lockdown/types.js';
import { host } from '../../helpers/memory/lockdowns.js';
import { ADMIN, ANALYST, RESPONDER, slack } from './actors.js';
import { lockdownDeps } from './lockdown-deps.js';

const WEB = host({ machineId: 'a'.repeat(40), name: 'web-01.contoso.com', ips: ['10.0.0.5'] });
const DC = host({ machineId: 'b'.repeat(40), name: 'dc-01.contoso.com' });
const OTHER_RESPONDER = slack('U0RESP0002', 'responder');

async function requested(t: ReturnType<typeof lockdownDeps>, actor = RESPONDER) {
  const r = await requestLockdown(t.deps, {
    actor,
    query: { kind: 'name', value: 'web-01' },
    durationHours: 4,
    reason: 'beacon',
    source: 'manual',
    channel: 'C0000CHAN',
  });
  if (!r.ok) {
    throw new Error(r.error);
  }
  return r.value.lockdown;
}

describe('requestLockdown', () => {
  it('inserts a pending request with its audit row and lockdown.requested, due at the approval deadline', async () => {
    const t = lockdownDeps({ hosts: [WEB], settings: { approvalTimeoutMinutes: 30 } });
    const l = await requested(t);
    expect(l).toMatchObject({
      state: 'pending_approval',
      machineId: WEB.machineId,
      requestedBy: 'slack:U0RESP0001',
    });
    expect(l.nextCheckAt?.toISOString()).toBe('2026-12-01T10:30:00.000Z');
    expect(t.lockdowns.memory.events.map((e) => e.name)).toEqual(['lockdown.requested']);
  });

  it('without approval, is approved as it is made: requested and approved are both sent, and the engine is woken', async () => {
    const t = lockdownDeps({ hosts: [WEB], settings: { approvalRequired: false } });
    const l = await requested(t);
    expect(l.state).toBe('approved');
    expect(t.lockdowns.memory.events.map((e) => [e.name, e.actor])).toEqual([
      ['lockdown.requested', 'slack:U0RESP0001'],
      ['lockdown.approved', 'system:hostlock'],
    ]);
    expect(t.woken.map((w) => w.id)).toEqual([l.id]);
  });

  it('refuses a second request for the same host, an analyst, a bad duration and an excluded host', async () => {
    const t = lockdownDeps({
      hosts: [WEB, DC],
      settings: {
        autoExclusions: ['dc-*'],
        autoExclusionPins: [{ machineId: DC.machineId, name: DC.name, rule: 'dc-*' }],
      },
    });
    const first = await requested(t);
    const again = await requestLockdown(t.deps, {
      actor: OTHER_RESPONDER,
      query: { kind: 'machine_id', value: WEB.machineId },
      durationHours: 1,
      reason: '',
      source: 'manual',
      channel: null,
    });
    expect(again).toMatchObject({ ok: false, error: 'already_open', existing: { id: first.id } });
    const base = {
      query: { kind: 'name', value: 'dc-01' } as const,
      reason: '',
      source: 'manual' as const,
      channel: null,
    };
    expect(await requestLockdown(t.deps, { ...base, actor: ANALYST, durationHours: 1 })).toMatchObject({
      error: 'forbidden',
    });
    expect(await requestLockdown(t.deps, { ...base, actor: RESPONDER, durationHours: 3 })).toMatchObject({
      error: 'bad_duration',
    });
    expect(await requestLockdown(t.deps, { ...base, actor: RESPONDER, durationHours: 1 })).toMatchObject({
      error: 'excluded',
    });
    expect(
      await requestLockdown(t.deps, { ...base, actor: RESPONDER, durationHours: 1, breakGlass: true }),
    ).toMatchObject({ error: 'break_glass_forbidden' });
    expect(t.lockdowns.memory.rows.size).toBe(1);
  });
});

describe('decideLockdown', () => {
  it('refuses the requester’s own approval, audits it, and leaves the request pending', async () => {
    const t = lockdownDeps({ hosts: [WEB] });
    const l = await requested(t, ADMIN);
    const r = await decideLockdown(t.deps, { actor: ADMIN, lockdownId: l.id, decision: 'approve' });
    expect(r).toMatchObject({ ok: false, error: 'self_approval' });
    expect(t.denials).toMatchObject([
      {
        action: 'authz.denied',
        targetId: l.id,
        details: { rule: 'self_approval', attempted: 'lockdown.approve' },
      },
    ]);
    expect((await t.lockdowns.get(l.id))?.state).toBe('pending_approval');
  });

  it('approves once: a second click finds it no longer pending', async () => {
    const t = lockdownDeps({ hosts: [WEB] });
    const l = await requested(t);
    const first = await decideLockdown(t.deps, {
      actor: OTHER_RESPONDER,
      lockdownId: l.id,
      decision: 'approve',
    });
    expect(first).toMatchObject({ ok: true, value: { state: 'approved', approvedBy: 'slack:U0RESP0002' } });
    const second = await decideLockdown(t.deps, { actor: ADMIN, lockdownId: l.id, decision: 'deny' });
    expect(second).toMatchObject({ ok: false, error: 'not_pending' });
    expect(t.lockdowns.memory.events.map((e) => e.name)).toEqual(['lockdown.requested', 'lockdown.approved']);
  });

  it('refuses a decision after the approval deadline, and wakes the engine to expire it', async () => {
    const t = lockdownDeps({ hosts: [WEB], settings: { approvalTimeoutMinutes: 30 } });
    const l = await requested(t);
    t.advance(30 * 60_000);
    const r = await decideLockdown(t.deps, { actor: OTHER_RESPONDER, lockdownId: l.id, decision: 'approve' });
    expect(r).toMatchObject({ ok: false, error: 'expired' });
    expect(t.woken.at(-1)?.id).toBe(l.id);
  });
});

describe('releaseLockdown and extendLockdown', () => {
  it('unlock has an answer in every open state; extend waits for active', async () => {
    const t = lockdownDeps({ hosts: [WEB] });
    const set = (id: string, patch: Partial<Lockdown>) => {
      const row = t.lockdowns.memory.rows.get(id);
      if (row) {
        t.lockdowns.memory.rows.set(id, { ...row, ...patch });
      }
    };
    // pending: extend refused; someone else without lockdown:edit cannot withdraw; the requester can
    const l = await requested(t);
    expect(await extendLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id, hours: 1 })).toMatchObject({
      error: 'not_active',
    });
    expect(await releaseLockdown(t.deps, { actor: ANALYST, lockdownId: l.id })).toMatchObject({
      error: 'forbidden',
    });
    expect(await releaseLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id })).toMatchObject({
      ok: true,
      value: { state: 'withdrawn', releasedBy: 'slack:U0RESP0001', nextCheckAt: null },
    });
    expect(t.lockdowns.memory.events.map((e) => e.name).at(-1)).toBe('lockdown.withdrawn');
    expect(await releaseLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id })).toMatchObject({
      error: 'not_open',
      current: { state: 'withdrawn' },
    });

    // approved: a crashed step may have sent the isolation already, so the engine decides; it is woken
    const a = await requested(t);
    set(a.id, { state: 'approved' });
    expect(await releaseLockdown(t.deps, { actor: ADMIN, lockdownId: a.id })).toMatchObject({
      value: { state: 'approved', releasedBy: 'slack:U0ADMIN001' },
    });
    expect(t.woken.at(-1)?.id).toBe(a.id);
    set(a.id, { state: 'cancelled' }); // as the engine would end it; frees the host for the next case

    // isolating: the stop is recorded and the engine woken now; a second unlock is "already"
    const i = await requested(t);
    set(i.id, { state: 'isolating', mdeActionId: 'act-1' });
    const stop = await releaseLockdown(t.deps, { actor: ADMIN, lockdownId: i.id });
    expect(stop).toMatchObject({ value: { state: 'isolating', releasedBy: 'slack:U0ADMIN001' } });
    expect(t.woken.at(-1)).toEqual({ id: i.id, at: t.deps.clock.now() });
    expect(await releaseLockdown(t.deps, { actor: RESPONDER, lockdownId: i.id })).toMatchObject({
      error: 'already_releasing',
    });
    set(i.id, { state: 'releasing' });
    expect(await releaseLockdown(t.deps, { actor: RESPONDER, lockdownId: i.id })).toMatchObject({
      error: 'already_releasing',
    });
  });

  it('an active lockdown is extended once per click, up to a day beyond its planned end unless an admin extends', async () => {
    const t = lockdownDeps({ hosts: [WEB] });
    const l = await requested(t);
    const lockedAt = new Date('2026-12-01T10:00:00Z');
    const expiresAt = new Date('2026-12-01T14:00:00Z');
    t.lockdowns.memory.rows.set(l.id, { ...l, state: 'active', lockedAt, expiresAt });
    const r = await extendLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id, hours: 24 });
    expect(r).toMatchObject({ ok: true, value: { expiresAt: new Date('2026-12-02T14:00:00Z') } });
    expect(await extendLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id, hours: 1 })).toMatchObject({
      error: 'too_long',
    });
    expect(await extendLockdown(t.deps, { actor: ADMIN, lockdownId: l.id, hours: 1 })).toMatchObject({
      ok: true,
    });
    const released = await releaseLockdown(t.deps, {
      actor: RESPONDER,
      lockdownId: l.id,
      reason: 'false positive',
    });
    expect(released).toMatchObject({ ok: true, value: { state: 'releasing', releaseReason: 'manual' } });
    expect(t.lockdowns.memory.audit.map((a) => a.action)).toEqual([
      'lockdown.requested',
      'lockdown.extended',
      'lockdown.extended',
      'lockdown.release_started',
    ]);
  });
});

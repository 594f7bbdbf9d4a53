import { describe, expect, it } from 'vitest';
import { confirmLockdown } from '../../../src/core/lockdown/confirm-lockdown.js';
import { decideLockdown, decideRequest } from '../../../src/core/lockdown/decide-lockdown.js';
import { releaseRequest } from '../../../src/core/lockdown/release-lockdown.js';
import { requestLockdown } from '../../../src/core/lockdown/request-lockdown.js';
import { type RequestsInput, requestLockdowns } from '../../../src/core/lockdown/request-lockdowns.js';
import { host } from '../../helpers/memory/lockdowns.js';
import { ADMIN, ANALYST, RESPONDER, slack } from './actors.js';
import { lockdownDeps } from './lockdown-deps.js';

// Issue #18, item 2: the verbs of a request of several hosts, over the in-memory ports.

const hosts = ['web-01', 'web-02', 'web-03', 'db-01', 'finance-srv'].map((name, i) =>
  host({ machineId: String(i + 1).repeat(40), name: `${name}.contoso.com`, ips: [`10.0.0.${i + 1}`] }),
);
const OTHER = slack('U0RESP0002', 'responder');
const names = (...n: string[]) => n.map((value) => ({ kind: 'name' as const, value }));

const input = (o: Partial<RequestsInput> = {}): RequestsInput => ({
  actor: RESPONDER,
  queries: names('web-01', 'web-02'),
  durationHours: 4,
  reason: 'beacon',
  source: 'manual',
  channel: 'C0000CHAN',
  ...o,
});

describe('requestLockdowns', () => {
  it('one request id, one pending lockdown per host, one audit row and event each, the left-out named', async () => {
    const t = lockdownDeps({ hosts });
    const r = await requestLockdowns(t.deps, input({ queries: names('web-01', 'web-02', 'ghost-9') }));
    if (!r.ok) {
      throw new Error(r.error);
    }
    expect(r.value.lockdowns.map((l) => [l.hostName, l.state, l.requestId])).toEqual([
      ['web-01.contoso.com', 'pending_approval', r.value.requestId],
      ['web-02.contoso.com', 'pending_approval', r.value.requestId],
    ]);
    // every lockdown in the one thread the announcer gave
    expect(new Set(r.value.lockdowns.map((l) => l.approvalTs))).toEqual(new Set(['1.000001']));
    expect(r.value.refused.map((x) => [x.query, x.error])).toEqual([['ghost-9', 'defender_failed']]);
    expect(t.lockdowns.memory.audit.map((a) => [a.action, a.details?.requestId])).toEqual([
      ['lockdown.requested', r.value.requestId],
      ['lockdown.requested', r.value.requestId],
    ]);
    expect(t.lockdowns.memory.notes.map((n) => n.name)).toEqual(['hosts_left_out']);
  });

  it('leaves out a host named twice (by name and by IP) and one named by the start of its name only', async () => {
    const t = lockdownDeps({ hosts });
    const r = await requestLockdowns(
      t.deps,
      input({
        queries: [
          ...names('web-01', 'web-01'),
          { kind: 'ip', value: '10.0.0.1', version: 4 },
          ...names('finance'),
        ],
      }),
    );
    if (!r.ok) {
      throw new Error(r.error);
    }
    expect(r.value.lockdowns.map((l) => l.hostName)).toEqual(['web-01.contoso.com']);
    expect(r.value.refused.map((x) => [x.query, x.error])).toEqual([
      ['web-01', 'duplicate'],
      ['10.0.0.1', 'duplicate'],
      ['finance', 'inexact'],
    ]);
  });

  it('refuses more hosts than the settings allow, audited, before looking any up; an admin may name more, up to 100', async () => {
    const t = lockdownDeps({ hosts, settings: { hostsPerRequest: 2 } });
    const three = names('web-01', 'web-02', 'web-03');
    const r = await requestLockdowns(t.deps, input({ queries: three }));
    expect(r).toMatchObject({ ok: false, error: 'too_many_hosts', limit: 2 });
    expect(t.lockdowns.memory.rows.size).toBe(0);
    expect(t.denials.map((d) => d.details)).toContainEqual(
      expect.objectContaining({ rule: 'hosts_per_request', hosts: 3, limit: 2 }),
    );
    const admin = await requestLockdowns(t.deps, input({ actor: ADMIN, queries: three }));
    expect(admin.ok && admin.value.lockdowns).toHaveLength(3);
    const tooMany = await requestLockdowns(
      t.deps,
      input({
        actor: ADMIN,
        queries: Array.from({ length: 101 }, (_, i) => ({ kind: 'name', value: `h-${i}` })),
      }),
    );
    expect(tooMany).toMatchObject({ ok: false, error: 'too_many_hosts', limit: 100 });
  });

  it('refuses an analyst and lookup-only mode outright, and answers nothing_to_lock with each reason', async () => {
    const t = lockdownDeps({ hosts });
    expect(await requestLockdowns(t.deps, input({ actor: ANALYST }))).toMatchObject({ error: 'forbidden' });
    const off = lockdownDeps({ hosts, settings: { containmentEnabled: false } });
    expect(await requestLockdowns(off.deps, input())).toMatchObject({ error: 'containment_disabled' });
    const none = await requestLockdowns(t.deps, input({ queries: names('web', 'web-0') }));
    expect(none).toMatchObject({ ok: false, error: 'nothing_to_lock' });
    expect(t.lockdowns.memory.rows.size).toBe(0);
  });
});

describe('decideRequest and releaseRequest', () => {
  async function pending(t: ReturnType<typeof lockdownDeps>) {
    const r = await requestLockdowns(t.deps, input({ queries: names('web-01', 'web-02', 'web-03') }));
    if (!r.ok) {
      throw new Error(r.error);
    }
    return r.value;
  }

  it('the requester can decide neither the request nor one of its hosts; another approver moves every host still waiting, once', async () => {
    const t = lockdownDeps({ hosts });
    const req = await pending(t);
    expect(
      await decideRequest(t.deps, { actor: RESPONDER, requestId: req.requestId, decision: 'approve' }),
    ).toMatchObject({ ok: false, error: 'self_approval' });
    expect(
      await decideLockdown(t.deps, {
        actor: RESPONDER,
        lockdownId: req.lockdowns[1]?.id ?? '',
        decision: 'approve',
      }),
    ).toMatchObject({ ok: false, error: 'self_approval' });
    // one host withdrawn by its requester meanwhile stays withdrawn
    await t.lockdowns.transition(req.lockdowns[2]?.id ?? '', 'withdraw', {}, { actor: 'slack:U0RESP0001' });
    const ok = await decideRequest(t.deps, { actor: OTHER, requestId: req.requestId, decision: 'approve' });
    expect(ok.ok && ok.value.map((l) => [l.hostName, l.state, l.approvedBy]).sort()).toEqual([
      ['web-01.contoso.com', 'approved', 'slack:U0RESP0002'],
      ['web-02.contoso.com', 'approved', 'slack:U0RESP0002'],
    ]);
    expect(t.woken.map((w) => w.id).sort()).toEqual([req.lockdowns[0]?.id, req.lockdowns[1]?.id].sort());
    // one reply in the thread for the decision
    expect(t.lockdowns.memory.notes.filter((n) => n.name === 'lockdown.approved')).toHaveLength(1);
    const again = await decideRequest(t.deps, { actor: OTHER, requestId: req.requestId, decision: 'deny' });
    expect(again).toMatchObject({ ok: false, error: 'not_pending' });
  });

  it('releaseRequest withdraws every host still waiting; an unknown request is not_found', async () => {
    const t = lockdownDeps({ hosts });
    const req = await pending(t);
    const r = await releaseRequest(t.deps, { actor: RESPONDER, requestId: req.requestId });
    expect(r.ok && r.value.map((x) => x.ok && x.value.state)).toEqual([
      'withdrawn',
      'withdrawn',
      'withdrawn',
    ]);
    expect(await releaseRequest(t.deps, { actor: RESPONDER, requestId: req.requestId })).toMatchObject({
      error: 'not_open',
    });
    expect(await releaseRequest(t.deps, { actor: RESPONDER, requestId: 'req_none' })).toMatchObject({
      error: 'not_found',
    });
  });
});

describe('confirmLockdown (a workflow’s request)', () => {
  async function fromWorkflow(t: ReturnType<typeof lockdownDeps>) {
    const r = await requestLockdown(t.deps, {
      actor: RESPONDER,
      query: { kind: 'name', value: 'web-01.contoso.com' },
      durationHours: 1,
      reason: '',
      source: 'manual',
      channel: null,
      exact: true,
      origin: { via: 'workflow:Wx0001', confirm: true },
    });
    if (!r.ok) {
      throw new Error(r.error);
    }
    return r.value.lockdown;
  }

  it('is made unconfirmed, asks nobody, and cannot be decided until its requester confirms, once', async () => {
    const t = lockdownDeps({ hosts, settings: { approverChannel: 'C0APPROVE1', approvalRequired: false } });
    const l = await fromWorkflow(t);
    expect(l).toMatchObject({
      state: 'pending_approval',
      awaitingConfirmation: true,
      requestedVia: 'workflow:Wx0001',
    });
    expect(l.approvalTs).toBeNull(); // not posted
    expect(
      await decideLockdown(t.deps, { actor: OTHER, lockdownId: l.id, decision: 'approve' }),
    ).toMatchObject({
      error: 'unconfirmed',
    });
    expect(await confirmLockdown(t.deps, { actor: OTHER, lockdownId: l.id })).toMatchObject({
      error: 'not_requester',
    });
    expect(await confirmLockdown(t.deps, { actor: ANALYST, lockdownId: l.id })).toMatchObject({
      error: 'forbidden',
    });
    const ok = await confirmLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id });
    expect(ok.ok && ok.value.lockdown).toMatchObject({
      awaitingConfirmation: false,
      state: 'pending_approval',
    });
    expect(await confirmLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id })).toMatchObject({
      error: 'not_awaiting',
    });
    expect(t.lockdowns.memory.audit.filter((a) => a.action === 'lockdown.confirmed')).toHaveLength(1);
    // approval off in the settings: a workflow's request still waits for an approver
    const approved = await decideLockdown(t.deps, { actor: OTHER, lockdownId: l.id, decision: 'approve' });
    expect(approved.ok && approved.value.state).toBe('approved');
  });

  it('a confirmation after the deadline is refused as expired', async () => {
    const t = lockdownDeps({
      hosts,
      settings: { approvalTimeoutMinutes: 30, approverChannel: 'C0APPROVE1' },
    });
    const l = await fromWorkflow(t);
    t.advance(31 * 60_000);
    expect(await confirmLockdown(t.deps, { actor: RESPONDER, lockdownId: l.id })).toMatchObject({
      error: 'expired',
    });
    expect((await t.lockdowns.get(l.id))?.awaitingConfirmation).toBe(true);
  });
});

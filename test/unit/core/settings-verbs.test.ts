import { describe, expect, it } from 'vitest';
import type { Host } from '../../../src/core/hosts/types.js';
import { exclusionOf } from '../../../src/core/lockdown/exclusions.js';
import { changeDefenderState } from '../../../src/core/settings/change-defender-state.js';
import type { Credentials, VerifyOutcome } from '../../../src/core/settings/ports.js';
import { type SaveInput, type SettingsDeps, saveSettings } from '../../../src/core/settings/save-settings.js';
import { host, memoryHosts } from '../../helpers/memory/lockdowns.js';
import { memoryStore } from '../../helpers/memory/store.js';
import { ADMIN, ANALYST } from './actors.js';

const NOW = new Date('2026-12-01T10:00:00Z');
const CREDS = {
  mde_tenant_id: '5e1f0c3a-0000-4000-8000-0000000000aa',
  mde_client_id: '7d2e1b4c-0000-4000-8000-0000000000bb',
  mde_client_secret: 'secret~value',
};

function deps(answer: VerifyOutcome = { ok: true, roles: ['Machine.Isolate'] }, hosts: Host[] = []) {
  const store = memoryStore({ now: () => NOW });
  const verified: Credentials[] = [];
  const saved: Array<{ syncNow: boolean }> = [];
  const d: SettingsDeps = {
    store,
    clock: { now: () => NOW },
    endpoint: 'login=https://login.example api=https://api.example scope=s',
    hosts: memoryHosts(hosts),
    verifier: {
      verify: async (c) => {
        verified.push(c);
        return answer;
      },
    },
    onSaved: async (_s, o) => void saved.push(o),
    isolatingLockdowns: async () => 0,
  };
  return { d, store, verified, saved };
}

const form = (
  patch: Record<string, unknown>,
  credentials: Extract<SaveInput['form'], { ok: true }>['credentials'] = {},
): SaveInput['form'] => ({
  ok: true,
  patch,
  credentials,
});

describe('saveSettings', () => {
  it('refuses a viewer before telling them what is wrong with the form, and audits the refusal', async () => {
    const { d, store } = deps();
    const r = await saveSettings(d, {
      actor: ANALYST,
      expectedVersion: 0,
      form: { ok: false, errors: { poll_minutes: 'Enter a whole number' } },
    });
    expect(r).toMatchObject({ ok: false, error: 'forbidden' });
    expect(store.state.audit).toMatchObject([{ action: 'authz.denied', details: { what: 'settings.save' } }]);
  });

  it('gives an admin the form’s own errors and saves nothing', async () => {
    const { d, store } = deps();
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: { ok: false, errors: { poll_minutes: 'Enter a whole number' } },
    });
    expect(r).toMatchObject({
      ok: false,
      error: 'invalid',
      errors: { poll_minutes: 'Enter a whole number' },
    });
    expect(store.state.settings.version).toBe(0);
  });

  it('verifies new credentials first and stores nothing when Defender refuses them', async () => {
    const { d, store, verified } = deps({ ok: false, code: 'mde_invalid_secret', message: 'AADSTS7000215' });
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: form({ poll_minutes: 15 }, CREDS),
    });
    expect(r).toMatchObject({ ok: false, error: 'verification_failed', field: 'mde_client_secret' });
    expect(verified).toHaveLength(1);
    expect(store.state.secrets).toEqual({});
    expect(store.state.settings.version).toBe(0);
    expect(store.state.audit).toEqual([]);
  });

  it('refuses credentials that come without the rest', async () => {
    const { d, verified } = deps();
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: form({}, { mde_tenant_id: CREDS.mde_tenant_id }),
    });
    expect(r).toMatchObject({ ok: false, error: 'incomplete_credentials', field: 'mde_client_id' });
    expect(verified).toEqual([]);
  });

  it('saves verified credentials sealed, with the audit row and settings.changed in one transaction', async () => {
    const { d, store, saved } = deps();
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: form({ poll_minutes: 30 }, CREDS),
    });
    expect(r.ok).toBe(true);
    expect(Object.keys(store.state.secrets).sort()).toEqual([...Object.keys(CREDS), 'mde_endpoint'].sort());
    expect(store.state.secrets.mde_endpoint?.value).toBe(d.endpoint);
    expect(store.state.audit).toMatchObject([
      { action: 'settings.changed', details: { fields: ['poll_minutes', ...Object.keys(CREDS)] } },
    ]);
    expect(store.state.outbox.map((e) => e.name)).toEqual(['settings.changed']);
    expect(saved).toEqual([{ syncNow: true }]);
  });

  it('asks for the secret again before signing in to another tenant or as another app', async () => {
    const { d, verified } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({}, CREDS) });
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 1,
      form: form({}, { mde_tenant_id: '99999999-0000-4000-8000-000000000001' }),
    });
    expect(r).toMatchObject({ ok: false, error: 'secret_required', field: 'mde_client_secret' });
    expect(verified).toHaveLength(1); // the stored secret went nowhere new
  });

  it('does not ask Defender again when the credentials did not change', async () => {
    const { d, verified } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({}, CREDS) });
    await saveSettings(d, { actor: ADMIN, expectedVersion: 1, form: form({ poll_minutes: 20 }) });
    expect(verified).toHaveLength(1);
  });

  it('stamps thresholds_saved_at only when thresholds or automation change', async () => {
    const { d, store } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({ poll_minutes: 20 }) });
    expect(store.state.settings.data.thresholds_saved_at).toBeUndefined();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 1, form: form({ threshold_threat: 60 }) });
    expect(store.state.settings.data.thresholds_saved_at).toBe(NOW.toISOString());
  });

  it('refuses a save from a form older than the stored settings (someone saved meanwhile)', async () => {
    const { d, store } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({ poll_minutes: 20 }) });
    const r = await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({ poll_minutes: 25 }) });
    expect(r).toMatchObject({ ok: false, error: 'conflict' });
    expect(store.state.settings.data.poll_minutes).toBe(20);
  });
});

describe('changeDefenderState', () => {
  it('refuses to delete the credentials while lockdowns hold hosts isolated, and deletes once none do', async () => {
    const { d, store } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({}, CREDS) });
    let open = 2;
    const guarded = { ...d, isolatingLockdowns: async () => open };
    expect(await changeDefenderState(guarded, { actor: ADMIN, change: 'deleted' })).toMatchObject({
      ok: false,
      error: 'lockdowns_open',
      open: 2,
    });
    expect(Object.keys(store.state.secrets)).toHaveLength(4); // nothing wiped
    // pausing stays possible: releases go on
    expect(await changeDefenderState(guarded, { actor: ADMIN, change: 'paused' })).toMatchObject({
      ok: true,
    });
    open = 0;
    expect(await changeDefenderState(guarded, { actor: ADMIN, change: 'deleted' })).toMatchObject({
      ok: true,
    });
    expect(store.state.secrets).toEqual({});
  });

  it('pauses keeping the credentials, deletes wiping them, each audited and announced', async () => {
    const { d, store, saved } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({}, CREDS) });
    expect(await changeDefenderState(d, { actor: ADMIN, change: 'paused' })).toMatchObject({
      ok: true,
      value: { mdeState: 'paused' },
    });
    expect(Object.keys(store.state.secrets)).toHaveLength(4);
    await changeDefenderState(d, { actor: ADMIN, change: 'deleted' });
    expect(store.state.secrets).toEqual({});
    expect(store.state.audit.map((a) => a.details?.defender)).toEqual([undefined, 'paused', 'deleted']);
    expect(saved.at(-1)).toEqual({ syncNow: false });
  });

  it('refuses an analyst and keeps everything', async () => {
    const { d, store } = deps();
    await saveSettings(d, { actor: ADMIN, expectedVersion: 0, form: form({}, CREDS) });
    expect(await changeDefenderState(d, { actor: ANALYST, change: 'deleted' })).toMatchObject({
      error: 'forbidden',
    });
    expect(Object.keys(store.state.secrets)).toHaveLength(4);
  });
});

describe('exclusions are pinned to machine ids when saved', () => {
  it('pins the machines a rule matches now; a host renamed to match later is not exempt', async () => {
    const dc = host({ machineId: 'd'.repeat(40), name: 'dc-01.contoso.com' });
    const web = host({ machineId: 'e'.repeat(40), name: 'web-01.contoso.com', tags: ['crown'] });
    const { d, store } = deps(undefined, [dc, web]);
    await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: form({ auto_exclusions: ['dc-*', 'tag:crown'] }),
    });
    const pins = (await store.settings.read()).autoExclusionPins;
    expect(pins).toEqual([
      { machineId: dc.machineId, name: dc.name, rule: 'dc-*' },
      { machineId: web.machineId, name: web.name, rule: 'tag:crown' },
    ]);
    const s = await store.settings.read();
    const renamed = host({ machineId: 'f'.repeat(40), name: 'dc-evil.contoso.com' });
    expect(exclusionOf(dc, s)).toMatchObject({ exempt: true });
    expect(exclusionOf(renamed, s)).toEqual({ exempt: false, nameOnly: 'dc-*' });
    expect(store.state.audit.at(-1)?.details?.changes).toContainEqual({
      field: 'auto_exclusion_pins',
      from: [],
      to: ['dc-01.contoso.com', 'web-01.contoso.com'],
    });
  });

  it('refuses a forged setting that is not one of the modal’s, such as the pins themselves', async () => {
    const { d, store } = deps();
    const r = await saveSettings(d, {
      actor: ADMIN,
      expectedVersion: 0,
      form: form({ auto_exclusion_pins: [{ machineId: 'x', name: 'x', rule: 'x' }] }),
    });
    expect(r).toMatchObject({ ok: false, error: 'invalid' });
    expect(store.state.settings.version).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import {
  allText,
  bootHarness,
  CLIENT_ID,
  CLIENT_SECRET,
  type Harness,
  TENANT,
  until,
} from '../helpers/harness.js';
import { settingsForm, submitSettings, type Values } from '../helpers/settings-form.js';

const ADMIN = 'U0SETADMIN';
const VIEWER = 'U0SETVIEW1';
let h: Harness;

const form = settingsForm;
const submit = (as: string, values: Values, version?: number) => submitSettings(h, as, values, version);

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ADMIN);
  await h.grant('analyst', VIEWER);
});
afterAll(() => h.close());

describe('/hostlock settings', () => {
  it('opens an editable modal for admins and a read-only one (no submit) for viewers', async () => {
    await h.slash('settings', { as: ADMIN });
    const admin = await h.slack.waitForCall('views.open', (c) =>
      JSON.stringify(c.args.view).includes('mde_tenant_id'),
    );
    expect((admin.args.view as { submit?: unknown }).submit).toBeDefined();
    await h.slash('settings', { as: VIEWER });
    const viewer = await h.slack.waitForCall('views.open', (c) =>
      /You can view settings/.test(allText(c.args.view)),
    );
    expect((viewer.args.view as { submit?: unknown }).submit).toBeUndefined();
  });

  it('refuses a forged submission from a view-only user and changes nothing', async () => {
    const before = await readSettingsVersioned(h.db.db);
    const r = await submit(VIEWER, form({ poll_minutes: '60' }));
    expect(r.response_action).toBe('errors');
    expect((await readSettingsVersioned(h.db.db)).version).toBe(before.version);
  });

  it('shows every bad field at once and saves nothing', async () => {
    const before = await readSettingsVersioned(h.db.db);
    const r = await submit(
      ADMIN,
      form({
        poll_minutes: '2',
        threshold_threat: '120',
        syslog_targets: 'siem:514',
      }),
    );
    expect(Object.keys(r.errors ?? {}).sort()).toEqual([
      'poll_minutes',
      'syslog_targets',
      'threshold_threat',
    ]);
    expect((await readSettingsVersioned(h.db.db)).version).toBe(before.version);
  });

  it('refuses a JSON target inside an RFC 5424 header, saying what to write, and saves nothing', async () => {
    const before = await readSettingsVersioned(h.db.db);
    const r = await submit(ADMIN, form({ syslog_targets: 'tcp://siem.example.com:514 json header=rfc5424' }));
    expect(r.errors?.syslog_targets).toMatch(/write `tcp:\/\/siem\.example\.com:514 json`/);
    expect((await readSettingsVersioned(h.db.db)).version).toBe(before.version);
  });

  it.each([
    [
      'a wrong secret',
      { mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, mde_client_secret: 'wrong~value' },
      'mde_client_secret',
      /Value, not its Secret ID/,
    ],
    [
      'an unknown tenant',
      {
        mde_tenant_id: '11111111-2222-4333-8444-555555555555',
        mde_client_id: CLIENT_ID,
        mde_client_secret: CLIENT_SECRET,
      },
      'mde_tenant_id',
      /Tenant ID not found/,
    ],
    [
      'an unknown app id',
      {
        mde_tenant_id: TENANT,
        mde_client_id: '99999999-0000-4000-8000-000000000000',
        mde_client_secret: CLIENT_SECRET,
      },
      'mde_client_id',
      /not found in this tenant/,
    ],
  ])('maps %s to its input and stores nothing', async (_, creds, field, message) => {
    const r = await submit(ADMIN, form(creds));
    expect(r.response_action).toBe('errors');
    expect(r.errors?.[field]).toMatch(message);
    expect(await h.db.sql`select name from secrets`).toEqual([]);
  });

  it('names a missing permission on the app id, and an unreachable Defender on the tenant', async () => {
    h.mde.addApp({
      tenantId: TENANT,
      clientId: '0a1b2c3d-0000-4000-8000-00000000000f',
      secret: 'ro~secret',
      roles: ['Machine.Read.All'],
    });
    const ro = await submit(
      ADMIN,
      form({
        mde_tenant_id: TENANT,
        mde_client_id: '0a1b2c3d-0000-4000-8000-00000000000f',
        mde_client_secret: 'ro~secret',
      }),
    );
    expect(ro.errors?.mde_client_id).toMatch(/lacks Machine\.Isolate/);
    // the verification tries twice (one retry); both answers are 503
    h.mde.inject({ path: /^\/api\/machines/, status: 503, times: 2 });
    const down = await submit(
      ADMIN,
      form({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, mde_client_secret: CLIENT_SECRET }),
    );
    expect(down.errors?.mde_tenant_id).toMatch(/503|unavailable|Defender/);
    expect(await h.db.sql`select name from secrets`).toEqual([]);
  });

  it('verifies and saves good credentials, sealed, with an audit row naming fields, not values', async () => {
    const r = await submit(
      ADMIN,
      form({
        mde_tenant_id: TENANT,
        mde_client_id: CLIENT_ID,
        mde_client_secret: CLIENT_SECRET,
        poll_minutes: '30',
      }),
    );
    expect(r.response_action).toBeUndefined();
    const rows = await h.db.sql<
      { name: string; sealed: string }[]
    >`select name, sealed from secrets order by name`;
    // the three credentials, and the endpoint they were verified against (issue #14)
    expect(rows.map((x) => x.name)).toEqual([
      'mde_client_id',
      'mde_client_secret',
      'mde_endpoint',
      'mde_tenant_id',
    ]);
    expect(rows.every((x) => x.sealed.startsWith('v1:') && !x.sealed.includes('CANARY'))).toBe(true);
    const { settings } = await readSettingsVersioned(h.db.db);
    expect(settings.pollMinutes).toBe(30);
    expect(settings.syslogTargets).toEqual([
      { protocol: 'tcp', host: 'siem.example.com', port: 514, format: 'cef' },
    ]);
    const audit = await h.db.sql<
      { details: { fields: string[] } }[]
    >`select details from audit_events where action = 'settings.changed' order by id desc limit 1`;
    expect(audit[0]?.details.fields).toEqual(expect.arrayContaining(['poll_minutes', 'mde_client_secret']));
    expect(JSON.stringify(audit)).not.toContain('CANARY');
    // new credentials: the inventory is taken now, not one poll interval later
    await until(
      async () =>
        (await h.db.sql`select 1 from inventory_sync where last_success_at is not null`).length === 1,
      'the first inventory sync',
    );
  });

  it('announces a saved change in the alert channels, old value → new (issue #14)', async () => {
    await h.settings({ alert_channels: ['C0000CHAN'] });
    const values = form({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, poll_minutes: '35' });
    values.alert_channels = {
      value: { type: 'multi_conversations_select', selected_conversations: ['C0000CHAN'] },
    };
    expect((await submit(ADMIN, values)).response_action).toBeUndefined();
    const said = await h.slack.waitForCall('chat.postMessage', (c) =>
      /Settings changed/.test(String(c.args.text)),
    );
    expect(String(said.args.text)).toMatch(/poll_minutes/);
    expect(String(said.args.text)).toContain('poll_minutes 30 → 35');
  });

  it('keeps the stored secret when the field is left empty', async () => {
    const before = await h.db.sql`select sealed from secrets where name = 'mde_client_secret'`;
    const r = await submit(
      ADMIN,
      form({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, poll_minutes: '20' }),
    );
    expect(r.response_action).toBeUndefined();
    expect(await h.db.sql`select sealed from secrets where name = 'mde_client_secret'`).toEqual(before);
    expect((await readSettingsVersioned(h.db.db)).settings.pollMinutes).toBe(20);
  });

  it('refuses the second of two saves made from the same version', async () => {
    const { version } = await readSettingsVersioned(h.db.db);
    const first = await submit(
      ADMIN,
      form({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, poll_minutes: '25' }),
      version,
    );
    expect(first.response_action).toBeUndefined();
    const second = await submit(
      ADMIN,
      form({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, poll_minutes: '45' }),
      version,
    );
    expect(second.response_action).toBe('errors');
    expect(Object.values(second.errors ?? {}).join()).toMatch(/Someone else saved/);
    expect((await readSettingsVersioned(h.db.db)).settings.pollMinutes).toBe(25);
  });

  it('pause keeps the credentials and stops the sync; resume restarts it; both audited and announced', async () => {
    await h.settings({ alert_channels: ['C0000CHAN'] });
    const view = (await h.slack.waitForCall('views.open', () => true)).response as { view?: { id?: string } };
    const viewId = view.view?.id ?? '';
    await h.signer.blockAction({
      userId: ADMIN,
      actionId: 'settings.pause',
      blockId: 'defender_controls',
      value: 'pause',
      viewId,
    });
    await h.slack.waitForCall('chat.postMessage', (c) => /Defender paused/.test(String(c.args.text)));
    expect((await readSettingsVersioned(h.db.db)).settings.mdeState).toBe('paused');
    expect((await h.app.hostsSync.run()).status).toBe('paused');
    expect(await h.db.sql`select name from secrets`).toHaveLength(4); // the credentials and their endpoint

    await h.signer.blockAction({
      userId: VIEWER,
      actionId: 'settings.resume',
      blockId: 'defender_controls',
      value: 'resume',
      viewId,
    });
    await h.slack.waitForCall('views.update', (c) => /settings:edit/.test(allText(c.args.view)));
    expect((await readSettingsVersioned(h.db.db)).settings.mdeState).toBe('paused');

    await h.signer.blockAction({
      userId: ADMIN,
      actionId: 'settings.resume',
      blockId: 'defender_controls',
      value: 'resume',
      viewId,
    });
    const resumedAt = new Date();
    await h.slack.waitForCall('chat.postMessage', (c) => /Defender resumed/.test(String(c.args.text)));
    // resuming takes the inventory at once, not one poll interval later
    await until(
      async () =>
        (
          await h.db
            .sql`select 1 from inventory_sync where last_success_at >= ${resumedAt.toISOString()}::timestamptz`
        ).length === 1,
      'an inventory sync after the resume',
    );
    const audit = await h.db.sql<
      { details: { defender?: string } }[]
    >`select details from audit_events where target_id = 'defender' order by id`;
    expect(audit.map((a) => a.details.defender)).toEqual(['paused', 'resumed']);
  });

  it('delete wipes the credentials', async () => {
    const viewId =
      ((await h.slack.waitForCall('views.open', () => true)).response as { view?: { id?: string } }).view
        ?.id ?? '';
    await h.signer.blockAction({
      userId: ADMIN,
      actionId: 'settings.delete',
      blockId: 'defender_controls',
      value: 'delete',
      viewId,
    });
    await h.slack.waitForCall('chat.postMessage', (c) => /Defender deleted/.test(String(c.args.text)));
    expect(await h.db.sql`select name from secrets`).toEqual([]);
    expect((await h.app.hostsSync.run()).status).toBe('not_configured');
  });

  it('never lets the Defender secret reach logs or Slack', () => {
    expect(h.logs.join('\n')).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(h.slack.calls)).not.toContain(CLIENT_SECRET);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createCallBudget } from '../../src/mde/budget.js';
import { MdeResponseError } from '../../src/mde/errors.js';
import { createMdeHttp } from '../../src/mde/http.js';
import { streamArrayMember } from '../../src/mde/json-stream.js';
import { type MdePeer, startMdePeer } from '../fakes/mde-peer.js';
import { SlackSigner } from '../fakes/slack-signer.js';
import {
  allText,
  bootHarness,
  CLIENT_ID,
  CLIENT_SECRET,
  type Harness,
  SIGNING_SECRET,
  startAnother,
  TENANT,
} from '../helpers/harness.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';

// Issue #14, finding 1 (high): a settings editor pointed the Defender API base at a host of their
// own; hostlock re-verified with the stored secret, sent its tenant-wide isolate token there, and
// used that host from then on. The API base and login host are now operator configuration only,
// limited to Microsoft's hosts; stored credentials are bound to the endpoint they were verified
// against; every change is audited old → new; Defender's answers are size-capped.

const ADMIN = 'U0EXFADMIN';
let h: Harness;
let evil: MdePeer;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ADMIN);
  // the attacker's host: a faithful Defender peer that would happily take the token
  evil = await startMdePeer({ tls: inject('tlsCert') });
  evil.addApp({ tenantId: TENANT, clientId: CLIENT_ID, secret: CLIENT_SECRET, appName: 'hostlock' });
});
afterAll(async () => {
  await h.close();
  await evil.close();
});

const asked = (peer: MdePeer) => peer.requests.length;

describe('a settings editor cannot send the Defender token elsewhere', () => {
  it('offers no API base input, and ignores one forged into the submission', async () => {
    await h.slash('settings', { as: ADMIN });
    const opened = await h.slack.waitForCall('views.open', () => true);
    const view = JSON.stringify(opened.args.view);
    expect(view).not.toContain('"block_id":"mde_api_url"');
    expect(allText(opened.args.view)).toContain(h.mde.url); // shown, read-only

    const before = asked(h.mde);
    const r = await submitSettings(h, ADMIN, {
      ...settingsForm({ mde_tenant_id: TENANT, mde_client_id: CLIENT_ID, mde_client_secret: CLIENT_SECRET }),
      mde_api_url: { value: { type: 'plain_text_input', value: evil.url } },
    });
    expect(r.response_action).toBeUndefined();
    expect(asked(evil)).toBe(0);
    expect(asked(h.mde)).toBeGreaterThan(before); // verified against the configured peer
    const [row] = await h.db.sql<{ data: Record<string, unknown> }[]>`select data from settings`;
    expect(row?.data).not.toHaveProperty('mde_api_url');
    // from now on too: lookups and syncs go to the configured host only
    await h.app.hostsSync.run();
    expect(asked(evil)).toBe(0);
  });

  it('audits and announces every changed value old → new, and the secret only as replaced', async () => {
    const r = await submitSettings(
      h,
      ADMIN,
      settingsForm({ poll_minutes: '45', mde_client_secret: 'other~secret' }),
    );
    // a different secret must verify first: the peer does not know it, so nothing changes
    expect(r.errors?.mde_client_secret).toBeDefined();
    const ok = await submitSettings(h, ADMIN, settingsForm({ poll_minutes: '45' }));
    expect(ok.response_action).toBeUndefined();
    const [audit] = await h.db.sql<{ details: { changes: unknown[] } }[]>`
      select details from audit_events where action = 'settings.changed' order by id desc limit 1`;
    expect(audit?.details.changes).toContainEqual({ field: 'poll_minutes', from: 15, to: 45 });
    expect(JSON.stringify(audit)).not.toContain(CLIENT_SECRET);

    // the secret rotated in Entra and typed again: audited as replaced, its value nowhere
    const ROTATED = 'rotated~secret-value-0001';
    const app = { tenantId: TENANT, clientId: CLIENT_ID, appName: 'hostlock' };
    h.mde.addApp({ ...app, secret: ROTATED });
    try {
      const rotated = await submitSettings(
        h,
        ADMIN,
        settingsForm({ poll_minutes: '30', mde_client_secret: ROTATED }),
      );
      expect(rotated.response_action).toBeUndefined();
      const [last] = await h.db.sql<{ details: { changes: unknown[] } }[]>`
        select details from audit_events where action = 'settings.changed' order by id desc limit 1`;
      expect(last?.details.changes).toContainEqual({ field: 'mde_client_secret', secret: true });
      expect(last?.details.changes).toContainEqual({ field: 'poll_minutes', from: 45, to: 30 });
      expect(JSON.stringify(last)).not.toContain(ROTATED);
      const [outbox] = await h.db.sql<{ n: number }[]>`
        select count(*)::int as n from outbox where payload::text like ${`%${ROTATED}%`}`;
      expect(outbox?.n).toBe(0);
      expect(JSON.stringify(h.slack.messages)).not.toContain(ROTATED);
    } finally {
      h.mde.addApp({ ...app, secret: CLIENT_SECRET });
      const back = await submitSettings(h, ADMIN, settingsForm({ mde_client_secret: CLIENT_SECRET }));
      expect(back.response_action).toBeUndefined();
    }
  });

  it('after the operator changes the endpoint, sends the stored secret nowhere until it is typed again', async () => {
    const moved = await startAnother(h, { env: { MDE_API_URL: evil.url, MDE_LOGIN_URL: evil.url } });
    try {
      expect(await moved.defender.get()).toBe('not_configured');
      expect(await moved.hostsSync.run()).toEqual({ status: 'not_configured' });
      const signer = new SlackSigner({
        signingSecret: SIGNING_SECRET,
        eventsUrl: `${moved.url}/slack/events`,
        peer: h.slack,
      });
      const version = (await h.db.sql<{ version: number }[]>`select version from settings`)[0]?.version ?? 0;
      const typedIdsOnly = await signer.viewSubmission({
        userId: ADMIN,
        callbackId: 'settings',
        values: settingsForm({
          mde_tenant_id: TENANT,
          mde_client_id: '7d2e1b4c-0000-4000-8000-0000000000cc',
        }),
        privateMetadata: JSON.stringify({ version }),
      });
      expect((typedIdsOnly.json() as { errors?: Record<string, string> }).errors?.mde_client_secret).toMatch(
        /enter (the secret|it) again/,
      );
      expect(asked(evil)).toBe(0);
    } finally {
      await moved.stop();
    }
  });
});

describe('the operator configuration itself', () => {
  const base = { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's3cret' };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
      return [];
    } catch (e) {
      return e instanceof ConfigError ? e.problems : [String(e)];
    }
  };

  it.each([
    ['a host that is not Microsoft’s', { MDE_API_URL: 'https://defender.evil.example' }],
    ['plain http to Microsoft', { MDE_API_URL: 'http://api.security.microsoft.com' }],
    ['a path smuggled after the host', { MDE_API_URL: 'https://api.security.microsoft.com.evil.example' }],
    ['another login host', { MDE_LOGIN_URL: 'https://login.evil.example' }],
    ['a loopback peer without the tests’ flag', { MDE_API_URL: 'https://127.0.0.1:8443' }],
    [
      'a commercial host in a government cloud',
      { MDE_CLOUD: 'gcc-high', MDE_API_URL: 'https://api.security.microsoft.com' },
    ],
  ])('refuses %s', (_, env) => {
    expect(problems(env).join('\n')).toMatch(/MDE_(API|LOGIN)_URL (must be|is not)/);
  });

  it('accepts a geo host of the cloud, each cloud’s defaults, and a loopback peer only with the flag', () => {
    expect(loadConfig({ ...base, MDE_API_URL: 'https://eu.api.security.microsoft.com' }).mde.apiUrl).toBe(
      'https://eu.api.security.microsoft.com',
    );
    const gov = loadConfig({ ...base, MDE_CLOUD: 'gcc-high' }).mde;
    expect(gov).toMatchObject({
      apiUrl: 'https://api-gov.securitycenter.microsoft.us',
      loginUrl: 'https://login.microsoftonline.us',
      scope: 'https://api-gov.securitycenter.microsoft.us/.default',
    });
    expect(
      loadConfig({ ...base, MDE_API_URL: 'https://127.0.0.1:8443', HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1' })
        .mde.apiUrl,
    ).toBe('https://127.0.0.1:8443');
  });
});

describe('Defender’s answers are capped', () => {
  it('refuses an answer larger than the cap without reading it whole', async () => {
    let sent = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent < 1024 * 1024 * 1024 && res.write(chunk)) {
          sent += chunk.length;
        }
        if (sent < 1024 * 1024 * 1024) {
          res.once('drain', pump);
        } else {
          res.end();
        }
      };
      res.on('error', () => {});
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const mdeHttp = createMdeHttp({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tokens: { getToken: async () => 'token', invalidate: () => {} },
      budget: createCallBudget({ perMinute: 1000, perHour: 10_000 }),
      maxResponseBytes: 1024 * 1024,
    });
    try {
      await expect(mdeHttp.call('GET', '/api/machines')).rejects.toBeInstanceOf(MdeResponseError);
      expect(sent).toBeLessThan(256 * 1024 * 1024);
      // the same through the streaming reader a machine list uses: whitespace outside any element
      // counts against the 64 KiB allowed around the array, which stops it first
      sent = 0;
      const streamed = mdeHttp.call('GET', '/api/machines', {
        read: (chunks) => streamArrayMember(chunks, 'value', () => {}),
      });
      await expect(streamed).rejects.toBeInstanceOf(MdeResponseError);
      expect(sent).toBeLessThan(256 * 1024 * 1024);
    } finally {
      await mdeHttp.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { bootHarness, type Harness } from '../helpers/harness.js';

// Issue #14, finding 5: /readyz and /metrics shared the public port with /slack/events, without
// authentication, and answered dependency error texts (an expired client secret, syslog
// addresses). The public /readyz now answers booleans only and there is no public /metrics; the
// details and the metrics are on a separate listener, 127.0.0.1:9464 by default (HOSTLOCK_OPS_ADDR).

let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  // something with details worth hiding: a syslog target that is down, a Defender not configured
  await h.settings({
    syslog_targets: [{ protocol: 'tcp', host: 'siem.internal.example', port: 6514, format: 'cef' }],
  });
});
afterAll(() => h.close());

describe('what the public port tells anyone', () => {
  it('answers readiness with booleans only', async () => {
    const res = await fetch(`${h.app.url}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, Record<string, unknown>> };
    for (const check of Object.values(body.checks)) {
      expect(Object.keys(check)).toEqual(['ok']);
    }
    expect(JSON.stringify(body)).not.toMatch(/not_configured|siem\.internal|error|state/);
  });

  it('has no /metrics', async () => {
    expect((await fetch(`${h.app.url}/metrics`)).status).toBe(404);
  });

  it('keeps the details and the metrics on the ops listener', async () => {
    const ready = (await (await fetch(`${h.app.opsUrl}/readyz`)).json()) as {
      checks: { defender: { state: string } };
    };
    expect(ready.checks.defender.state).toBe('not_configured');
    expect(await (await fetch(`${h.app.opsUrl}/metrics`)).text()).toMatch(/^# HELP /m);
    expect(new URL(h.app.opsUrl).hostname).toBe('127.0.0.1');
  });

  it('binds the ops listener to loopback unless the operator says otherwise', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).ops).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
  });
});

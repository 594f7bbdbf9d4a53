import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTLOCK_VERSION } from '../../src/version.js';
import { bootHarness, type Harness, until } from '../helpers/harness.js';

let h: Harness;

/** The text exposition as `name{labels}` → value; throws on a line that is not valid Prometheus 0.0.4. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) {
      throw new Error(`not a metric line: ${line}`);
    }
    out.set(m[1], Number(m[2]));
  }
  return out;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${h.app.opsUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', 'U0METRIC01');
});
afterAll(() => h.close());

describe('GET /metrics', () => {
  it('counts Defender calls by outcome (429s too), Slack acks, and reads lockdowns, outbox and timers from the database', async () => {
    h.mde.addMachines([h.mde.machine({ computerDnsName: 'metrics-01.contoso.com' })]);
    h.mde.inject({ method: 'GET', path: /machines$/, status: 429, retryAfterSeconds: 1 });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    await h.slash('help', { as: 'U0METRIC01' });
    await h.slash('lock metrics-01 1h checking', { as: 'U0METRIC01' });
    await until(async () => (await h.db.sql`select 1 from lockdowns`).length === 1, 'the lockdown request');
    await h.db.sql`
      insert into outbox (event_id, event, sink, payload) values ('evt_metrics01', 'lockdown.locked',
        'syslog:tcp://127.0.0.1:9 json', '{}'::jsonb)`;

    const m = await scrape();
    expect(m.get('hostlock_defender_calls_total{method="GET",outcome="2xx"}')).toBeGreaterThan(0);
    expect(m.get('hostlock_defender_calls_total{method="GET",outcome="429"}')).toBe(1);
    expect(m.get('hostlock_defender_throttled_total')).toBe(1);
    expect(m.get('hostlock_defender_call_seconds_count{method="GET"}')).toBeGreaterThan(1);
    expect(m.get('hostlock_slack_ack_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(m.get('hostlock_lockdowns{state="pending_approval"}')).toBe(1);
    expect(m.get('hostlock_outbox_pending{sink="syslog"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hostlock_outbox_oldest_seconds')).toBeGreaterThanOrEqual(0);
    expect(m.get('hostlock_lockdown_overdue_seconds')).toBeGreaterThanOrEqual(0);
    const synced = m.get('hostlock_inventory_last_success_timestamp_seconds') ?? 0;
    expect(Math.abs(synced - Date.now() / 1000)).toBeLessThan(120); // a timestamp, not an age or -1
    // the exporter conventions: default metrics unprefixed, build info, per-command and per-route counts
    expect(m.has('process_resident_memory_bytes')).toBe(true);
    expect(m.has('hostlock_process_resident_memory_bytes')).toBe(false);
    expect(m.get(`hostlock_build_info{version="${HOSTLOCK_VERSION}",node="${process.versions.node}"}`)).toBe(
      1,
    );
    expect(m.get('hostlock_slack_commands_total{command="help"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hostlock_slack_commands_total{command="lock"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('hostlock_http_requests_total{route="slack_events",status="200"}')).toBeGreaterThanOrEqual(
      2,
    );
    expect(m.get('hostlock_dependency_up{dependency="database"}')).toBe(1);
    await h.db.sql`delete from outbox where event_id = 'evt_metrics01'`;
  });

  it('keeps route labels to a fixed set, whatever the path', async () => {
    await fetch(`${h.app.url}/api/v2.1/lockdown/host/lck_somebody`, { method: 'DELETE' });
    await fetch(`${h.app.url}/no/such/${'x'.repeat(50)}`);
    const m = await scrape();
    expect(
      m.get('hostlock_http_requests_total{route="DELETE /api/v2.1/lockdown/host/:id",status="401"}'),
    ).toBe(1);
    expect(m.get('hostlock_http_requests_total{route="other",status="404"}')).toBeGreaterThanOrEqual(1);
    expect([...m.keys()].some((k) => k.includes('lck_somebody') || k.includes('xxxx'))).toBe(false);
  });

  it('never shows a secret', async () => {
    const text = await (await fetch(`${h.app.opsUrl}/metrics`)).text();
    expect(text).not.toMatch(/CANARY|xoxb-|hlk_/);
  });
});

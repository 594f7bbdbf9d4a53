import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, hosts, inventorySync } from '../../src/db/schema.js';
import { ActionId, hostBlockId } from '../../src/slack/ids.js';
import type { MdeMachine } from '../fakes/mde-peer.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';

const ANALYST = 'U0ANALYST1';
const RESPONDER = 'U0RESPOND1';
const STRANGER = 'U0STRANGER';

let h: Harness;
let web: MdeMachine;
let db1: MdeMachine;
let v6: MdeMachine;
let twinA: MdeMachine;
let twinB: MdeMachine;

const defenderCalls = () => h.mde.requests.filter((r) => r.path.startsWith('/api/')).length;

beforeAll(async () => {
  h = await bootHarness();
  web = h.mde.machine({
    computerDnsName: 'web-01.contoso.com',
    lastIpAddress: '10.20.30.40',
    osPlatform: 'Windows11',
    osVersion: '22H2',
    healthStatus: 'ImpairedCommunication',
    riskScore: 'High',
    exposureLevel: 'Medium',
  });
  db1 = h.mde.machine({ computerDnsName: 'db-01', lastIpAddress: '10.20.30.41', osPlatform: 'Linux' });
  v6 = h.mde.machine({
    computerDnsName: 'v6-host.contoso.com',
    lastIpAddress: '10.20.30.42',
    ipAddresses: [
      { ipAddress: '10.20.30.42', macAddress: '00155D010203', type: 'Ethernet', operationalStatus: 'Up' },
      { ipAddress: '2001:db8::42', macAddress: '00155D010203', type: 'Ethernet', operationalStatus: 'Up' },
    ],
  });
  twinA = h.mde.machine({ computerDnsName: 'app-07.contoso.com', isPotentialDuplication: true });
  twinB = h.mde.machine({ computerDnsName: 'app-07.contoso.com', mergedIntoMachineId: twinA.id });
  h.mde.addMachines([web, db1, v6, twinA, twinB]);
  await h.configureDefender();
  await h.grant('analyst', ANALYST);
  await h.grant('responder', RESPONDER);
  const first = await h.app.hostsSync.run();
  expect(first.status).toBe('ok');
});
afterAll(() => h.close());

describe('/hostlock lookup from the local inventory', () => {
  it.each([
    ['exact FQDN', 'web-01.contoso.com', () => web],
    ['short name', 'web-01', () => web],
    ['any case', 'WEB-01.Contoso.COM', () => web],
    ['short name of a short record', 'db-01', () => db1],
    ['IPv4', '10.20.30.41', () => db1],
    ['IPv6', '2001:DB8::42', () => v6],
    ['machine id', 'MACHINE_ID', () => web],
  ])('finds a host by %s without asking Defender', async (_, query, expected) => {
    const target = expected();
    const before = defenderCalls();
    const r = await h.slash(`lookup ${query === 'MACHINE_ID' ? web.id : query}`, { as: ANALYST });
    expect(r.status).toBe(200);
    const body = r.json() as { response_type: string };
    expect(body.response_type).toBe('ephemeral');
    const text = allText(body);
    expect(text).toContain(target.computerDnsName);
    expect(text).toContain(target.id);
    expect(defenderCalls()).toBe(before);
  });

  it('shows the machine’s OS, health, risk and exposure on its card', async () => {
    const text = allText((await h.slash('lookup web-01', { as: ANALYST })).json());
    expect(text).toMatch(/\*OS\*\nWindows11 22H2/);
    expect(text).toMatch(/\*Health\*\nImpairedCommunication/);
    expect(text).toMatch(/\*Risk\*\nHigh/);
    expect(text).toMatch(/\*Exposure\*\nMedium/);
  });

  it('lists several matches for a prefix, the merged twin last', async () => {
    const r = await h.slash('lookup app-', { as: ANALYST });
    const text = allText(r.json());
    expect(text).toMatch(/2 hosts match/);
    expect(text.indexOf(twinA.id)).toBeGreaterThan(-1);
    expect(text.indexOf(twinA.id)).toBeLessThan(text.indexOf(twinB.id));
  });

  it('flags a possible duplicate on its card', async () => {
    const r = await h.slash(`lookup ${twinA.id}`, { as: ANALYST });
    expect(allText(r.json())).toMatch(/duplicate/i);
  });

  it('offers Lock only to users who may lock', async () => {
    const analyst = JSON.stringify((await h.slash('lookup web-01', { as: ANALYST })).json());
    const responder = JSON.stringify((await h.slash('lookup web-01', { as: RESPONDER })).json());
    expect(analyst).not.toContain('host.lock');
    expect(responder).toContain('host.lock');
    expect(responder).toContain(`host:${web.id}`);
  });
});

describe('/hostlock lookup asking Defender', () => {
  it('asks Defender for an unknown host and says it found nothing, with an example', async () => {
    const before = defenderCalls();
    const r = await h.slash('lookup nosuch-host-99', { as: ANALYST });
    expect(allText(r.json())).toMatch(/Looking up `nosuch-host-99` in Defender/);
    const answer = await h.slack.waitForResponse(
      (p) => allText(p.body).includes('nosuch-host-99') && allText(p.body).includes('No host matches'),
    );
    expect(allText(answer.body)).toMatch(/lookup web-01\.contoso\.com/);
    expect(defenderCalls()).toBeGreaterThan(before);
  });

  it('finds a machine Defender knows but the inventory does not yet, and stores it', async () => {
    const fresh = h.mde.machine({ computerDnsName: 'new-laptop-3.contoso.com' });
    h.mde.addMachines([fresh]);
    await h.slash('lookup new-laptop-3', { as: ANALYST });
    const answer = await h.slack.waitForResponse((p) => allText(p.body).includes(fresh.id));
    expect(allText(answer.body)).toContain('new-laptop-3.contoso.com');
    const [row] = await h.db.sql`select name from hosts where machine_id = ${fresh.id}`;
    expect(row?.name).toBe('new-laptop-3.contoso.com');
  });

  it('shows a host isolated in the Defender portal as isolated outside hostlock, on demand', async () => {
    const portal = h.mde.machine({ computerDnsName: 'portal-iso-1.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([portal]);
    h.mde.addAction({
      machineId: portal.id,
      type: 'Isolate',
      status: 'Succeeded',
      requestor: 'analyst@contoso.com',
    });
    await h.slash(`lookup ${portal.id}`, { as: RESPONDER });
    const answer = await h.slack.waitForResponse((p) => allText(p.body).includes(portal.id));
    const text = allText(answer.body);
    expect(text).toMatch(/isolated outside hostlock/i);
    // nobody is offered a Lock on a host someone else isolated
    expect(JSON.stringify(answer.body)).not.toContain('host.lock');
  });

  it('shows a portal isolation after the next sync', async () => {
    h.mde.addAction({
      machineId: db1.id,
      type: 'Isolate',
      status: 'Succeeded',
      requestor: 'analyst@contoso.com',
    });
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const [row] = await h.db.db.select().from(hosts).where(eqId(db1.id));
    expect(row?.isolationState).toBe('isolated_outside');
    expect(row?.isolationSource).toBe('outside');
    const r = await h.slash('lookup db-01', { as: ANALYST });
    expect(allText(r.json())).toMatch(/isolated outside hostlock/i);

    // and a release in the portal shows after the following sync
    h.mde.addAction({
      machineId: db1.id,
      type: 'Unisolate',
      status: 'Succeeded',
      requestor: 'analyst@contoso.com',
    });
    await h.app.hostsSync.run();
    const [after] = await h.db.db.select().from(hosts).where(eqId(db1.id));
    expect(after?.isolationState).toBe('not_isolated');
  });
});

describe('/hostlock lookup refusals', () => {
  it('refuses a user without lockdown:view, ephemerally, audited, with no Defender call', async () => {
    const before = defenderCalls();
    const r = await h.slash('lookup nosuch-host-98', { as: STRANGER });
    const body = r.json() as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/`lockdown:view`/);
    expect(defenderCalls()).toBe(before);
    const audit = await h.db.db.select().from(auditEvents);
    expect(audit.some((a) => a.actor === `slack:${STRANGER}` && a.action === 'authz.denied')).toBe(true);
  });

  it.each([
    ['empty', 'lookup', /Tell me which host/],
    ['too long', `lookup ${'a'.repeat(300)}`, /too long/],
    ['not a host', 'lookup ../../etc/passwd', /not a host name/],
    ['quote injection', "lookup web' or 1 eq 1", /not a host name/],
  ])('answers %s input with a hint and no Defender call', async (_, text, hint) => {
    const before = defenderCalls();
    const r = await h.slash(text, { as: ANALYST });
    const body = r.json() as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(hint);
    expect(defenderCalls()).toBe(before);
  });
});

describe('/hostlock lookup <ip> at <time>: which device had that IP then (issue #18, item 4)', () => {
  it('asks Defender’s find-by-IP for the ±15 min window and lists what it saw', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const stamp = `${at.toISOString().slice(0, 16)}Z`;
    const ack = allText((await h.slash(`lookup 10.20.30.40 at ${stamp}`, { as: ANALYST })).json());
    expect(ack).toMatch(/Asking Defender which device had `10\.20\.30\.40` around/);
    const answer = await h.slack.waitForResponse((p) => /Defender saw/.test(allText(p.body)));
    expect(allText(answer.body)).toMatch(/Defender saw 1 device with `10\.20\.30\.40`/);
    expect(allText(answer.body)).toContain(web.id);
    const call = h.mde.requests.find((r) => r.path.includes('findbyip('));
    expect(call?.path).toContain(`findbyip(ip='10.20.30.40',timestamp=${stamp.slice(0, 16)}`);
  });

  it.each([
    ['a name instead of an IP', 'lookup web-01 at 2026-12-01T10:00Z', /give an IP/],
    ['a time without its zone', 'lookup 10.1.2.3 at 2026-12-01T10:00', /with its zone/],
    ['words', 'lookup 10.1.2.3 at yesterday', /with its zone/],
    [
      'a time to come',
      `lookup 10.1.2.3 at ${new Date(Date.now() + 3_600_000).toISOString()}`,
      /still to come/,
    ],
    [
      'a time Defender no longer knows',
      `lookup 10.1.2.3 at ${new Date(Date.now() - 40 * 86_400_000).toISOString()}`,
      /30 days/,
    ],
  ])('answers %s with a hint and no Defender call', async (_, text, hint) => {
    const before = defenderCalls();
    expect(allText((await h.slash(text, { as: ANALYST })).json())).toMatch(hint);
    expect(defenderCalls()).toBe(before);
  });

  it('is refused to a user without lockdown:view, with no Defender call', async () => {
    const before = defenderCalls();
    expect(
      allText((await h.slash('lookup 10.20.30.40 at 2026-12-01T10:00Z', { as: STRANGER })).json()),
    ).toMatch(/lockdown:view/);
    expect(defenderCalls()).toBe(before);
  });
});

describe('inventory sync', () => {
  it('marks machines gone from Defender, and revives them when they return', async () => {
    const leaving = h.mde.machine({ computerDnsName: 'leaving-1' });
    h.mde.addMachines([leaving]);
    await h.app.hostsSync.run();
    h.mde.removeMachine(leaving.id);
    await h.app.hostsSync.run();
    const [gone] = await h.db.db.select().from(hosts).where(eqId(leaving.id));
    expect(gone?.goneAt).not.toBeNull();
    expect(allText((await h.slash('lookup leaving-1', { as: ANALYST })).json())).toMatch(/no longer listed/i);

    h.mde.addMachines([leaving]);
    await h.app.hostsSync.run();
    const [back] = await h.db.db.select().from(hosts).where(eqId(leaving.id));
    expect(back?.goneAt).toBeNull();
  });

  it('a re-sync leaves unchanged hosts unwritten, and lookups count them as just confirmed', async () => {
    // every host last written a day ago, as after a day of syncs that found nothing new
    await h.db.sql`update hosts set synced_at = now() - interval '1 day'`;
    const version = async () =>
      (await h.db.sql<{ xmin: string }[]>`select xmin::text from hosts where machine_id = ${db1.id}`)[0]
        ?.xmin;
    const before = await version();
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    expect(await version()).toBe(before); // not rewritten
    const calls = defenderCalls();
    const text = allText((await h.slash('lookup db-01', { as: ANALYST })).json());
    expect(defenderCalls()).toBe(calls); // fresh: the run just listed it
    expect(text).toContain('synced just now');
  });

  it('a host reporting a name PostgreSQL cannot store (NUL, a lone surrogate) does not stop the sync', async () => {
    const evil = h.mde.machine({ computerDnsName: 'evil\u0000host\ud800', lastIpAddress: '10.20.30.99' });
    h.mde.addMachines([evil]);
    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const [row] = await h.db.db.select().from(hosts).where(eqId(evil.id));
    expect(row?.name).toBe('evil\uFFFDhost\uFFFD');
    h.mde.removeMachine(evil.id);
  });

  it('keeps the previous inventory when a run fails, reports it in /readyz, and recovers', async () => {
    const count = async () => Number((await h.db.sql`select count(*)::int as n from hosts`)[0]?.n);
    const before = await count();
    h.mde.inject({ method: 'GET', path: /^\/api\/machines$/, status: 500, times: 5 });
    const failed = await h.app.hostsSync.run();
    expect(failed.status).toBe('failed');
    expect(await count()).toBe(before);
    const ready = await fetch(`${h.app.opsUrl}/readyz`);
    const body = (await ready.json()) as { checks: { inventory: { ok: boolean; error?: string } } };
    expect(ready.status).toBe(200); // a failed sync is a detail: the replica can still serve
    expect(body.checks.inventory.ok).toBe(false);
    expect(body.checks.inventory.error).toMatch(/500/);

    expect((await h.app.hostsSync.run()).status).toBe('ok');
    const [row] = await h.db.db.select().from(inventorySync);
    expect(row?.lastError).toBeNull();
    expect((await fetch(`${h.app.url}/readyz`)).status).toBe(200);
  });

  it('runs one sync at a time, across processes', async () => {
    // another process holding the sync's lock, as a running sync would
    const other = await h.db.sql.reserve();
    try {
      await other`select pg_advisory_lock(hashtext('hostlock:hosts.sync'))`;
      expect((await h.app.hostsSync.run()).status).toBe('already_running');
      await other`select pg_advisory_unlock(hashtext('hostlock:hosts.sync'))`;
    } finally {
      other.release();
    }
    expect((await h.app.hostsSync.run()).status).toBe('ok');
  });

  it('does nothing while Defender is paused, and says why', async () => {
    await h.settings({ mde_state: 'paused' });
    const before = defenderCalls();
    expect((await h.app.hostsSync.run()).status).toBe('paused');
    expect(defenderCalls()).toBe(before);
    await h.settings({ mde_state: 'enabled' });
  });
});

function eqId(id: string) {
  return eq(hosts.machineId, id);
}

describe('secrets', () => {
  it('never logs the bot token, signing secret or Defender secret', () => {
    const text = h.logs.join('\n');
    expect(text).toContain('hosts.synced');
    expect(text).not.toMatch(/CANARY/);
  });
});

describe('App Home', () => {
  it('shows the visitor their permissions and, to viewers, the isolated hosts', async () => {
    const r = await h.signer.appHomeOpened({ userId: ANALYST });
    expect(r.status).toBe(200);
    const call = await h.slack.waitForCall('views.publish', (c) => c.args.user_id === ANALYST);
    const text = allText(call.args.view);
    expect(text).toMatch(/lockdown:view|look up/i);
    expect(text).toMatch(/Isolated hosts/);

    await h.signer.appHomeOpened({ userId: STRANGER });
    const other = await h.slack.waitForCall('views.publish', (c) => c.args.user_id === STRANGER);
    expect(allText(other.args.view)).toMatch(/no hostlock role yet|no admin yet/i); // whom to ask, not a command that refuses
    expect(allText(other.args.view)).not.toMatch(/Isolated hosts/);
  });
});

describe('refresh on demand (issue #15, item 11)', () => {
  const VIEWER = 'U0REFRESH1';
  beforeAll(() => h.grant('analyst', VIEWER));

  it('--refresh asks Defender even when the inventory is fresh, and shows what it says now', async () => {
    const fresh = await h.slash('lookup web-01', { as: VIEWER });
    expect(allText(fresh.json())).toMatch(/ImpairedCommunication/);
    web.healthStatus = 'Active';
    const before = defenderCalls();
    await h.slash('lookup web-01 --refresh', { as: VIEWER });
    const card = await h.slack.waitForResponse(
      (p) => /web-01/.test(allText(p.body)) && /\*Health\*\nActive/.test(allText(p.body)),
    );
    expect(allText(card.body)).toContain(web.id);
    expect(defenderCalls()).toBeGreaterThan(before);
  });

  it('the card’s Refresh button re-reads the machine and replaces the card; an outsider’s click is refused', async () => {
    web.riskScore = 'Low';
    const before = defenderCalls();
    const answered = h.slack.responses.length;
    await h.signer.blockAction({
      userId: VIEWER,
      actionId: ActionId.hostRefresh,
      blockId: hostBlockId(web.id),
      value: web.id,
      isEphemeral: true,
    });
    const replaced = await until(
      async () =>
        h.slack.responses
          .slice(answered)
          .find((p) => (p.body as { replace_original?: boolean }).replace_original === true),
      'the refreshed card',
    );
    expect(allText(replaced.body)).toMatch(/\*Risk\*\nLow/);
    expect(allText(replaced.body)).toContain(web.id);
    expect(h.mde.requests.slice(before).some((r) => r.path === `/api/machines/${web.id}`)).toBe(true);

    const outsider = defenderCalls();
    await h.signer.blockAction({
      userId: 'U0NOROLE99',
      actionId: ActionId.hostRefresh,
      blockId: hostBlockId(web.id),
      value: web.id,
      isEphemeral: true,
    });
    await h.slack.waitForResponse((p) => /lockdown:view/.test(allText(p.body)));
    expect(defenderCalls()).toBe(outsider);
  });

  it('spends the person’s lookup quota: past it, the inventory answers and says so', async () => {
    const SPENDER = 'U0REFRESH2';
    await h.grant('analyst', SPENDER);
    const busy = () => h.slack.responses.filter((p) => /looked up many hosts/.test(allText(p.body))).length;
    const seen = busy();
    for (let i = 0; i < 8; i++) {
      await h.slash('lookup web-01 --refresh', { as: SPENDER });
    }
    await until(async () => (busy() > seen ? true : null), 'a busy answer');
  });
});

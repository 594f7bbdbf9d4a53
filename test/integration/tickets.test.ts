import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTicket, templateProblem, ticketUrl } from '../../src/core/lockdown/ticket.js';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, lockdownRow } from '../helpers/harness.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #18, item 5: a ticket on a lockdown (`--ticket INC-123`, REST `ticket`), made a link by the
// settings' template, shown in the thread, the alerts, the list, the API and syslog.

const ALICE = 'U0TICKALIC';
const ALERTS = 'C0TICKALRT';
let h: Harness;
let token: string;

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  h.slack.addChannel({ id: ALERTS, name: 'soc-alerts', isMember: true });
  await h.settings({
    approver_channel: APPROVER_CHANNEL,
    alert_channels: [ALERTS],
    ticket_url_template: 'https://tracker.example/browse/{ticket}',
  });
  for (const name of ['tk-web-01', 'tk-web-02']) {
    h.mde.addMachines([h.mde.machine({ computerDnsName: `${name}.contoso.com` })]);
  }
  expect((await h.app.hostsSync.run()).status).toBe('ok');
  const t = await createApiToken(h.app.store, {
    name: 'tk-edit',
    scopes: ['lockdown:view', 'lockdown:edit'],
  });
  if (t === 'name_taken') {
    throw new Error('token name taken');
  }
  token = t.token;
});
afterAll(() => h.close());

describe('tickets on lockdowns', () => {
  it('/hostlock lock … --ticket INC-123: linked in the thread, the alert and the list', async () => {
    await h.slash('lock tk-web-01 4h --ticket INC-123 beaconing to a C2', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /Lockdown `lck_/.test(allText(p.body)));
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const l = await lockdownRow(h, id);
    expect(l).toMatchObject({
      ticket: 'INC-123',
      ticketUrl: 'https://tracker.example/browse/INC-123',
      reason: 'beaconing to a C2',
    });
    const root = await h.slack.waitForCall('chat.postMessage', (c) => c.args.channel === APPROVER_CHANNEL);
    expect(JSON.stringify(root.args.blocks)).toContain('<https://tracker.example/browse/INC-123|INC-123>');
    const alert = await h.slack.waitForCall('chat.postMessage', (c) => c.args.channel === ALERTS, 10_000);
    expect(String(alert.args.text)).toContain('Ticket: <https://tracker.example/browse/INC-123|INC-123>');
    expect(allText((await h.slash('list', { as: ALICE })).json())).toContain('INC-123');
  });

  it('REST: ticket in, ticket and ticket_url out', async () => {
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'tk-web-02.contoso.com', duration: '1h', reason: 'ir', ticket: 'SEC/42' }),
    });
    expect(res.status).toBe(202);
    const list = (await (
      await fetch(`${h.app.url}/api/v2.1/lockdown/host`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Array<{ ticket: string | null; ticket_url: string | null; host_name: string }>;
    expect(list.find((l) => l.host_name === 'tk-web-02.contoso.com')).toMatchObject({
      ticket: 'SEC/42',
      ticket_url: 'https://tracker.example/browse/SEC%2F42',
    });
  });

  it.each([
    ['a mention', '<!here>'],
    ['a link', 'javascript:alert(1)'],
    ['a pipe', 'INC|123'],
    ['too long', 'X'.repeat(65)],
  ])('refuses %s as a ticket, saying what a ticket looks like, and locks nothing', async (_, bad) => {
    const before = await h.db.sql`select count(*)::int as n from lockdowns`;
    const ack = await h.slash(`lock tk-web-01 1h --ticket=${bad} x`, { as: ALICE });
    expect(allText(ack.json())).toMatch(/A ticket is a tracker key such as `INC-123`/);
    const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: 'tk-web-01.contoso.com', duration: '1h', ticket: bad }),
    });
    expect(res.status).toBe(400);
    expect((await h.db.sql`select count(*)::int as n from lockdowns`)[0]?.n).toBe(before[0]?.n);
  });

  it('takes only https templates with {ticket}, and encodes the key into the link', () => {
    expect(templateProblem('http://tracker.example/{ticket}')).toMatch(/https/);
    expect(templateProblem('https://user:pw@tracker.example/{ticket}')).toMatch(/password/);
    expect(templateProblem('https://tracker.example/browse/')).toMatch(/\{ticket\}/);
    expect(templateProblem('javascript:{ticket}')).not.toBeNull();
    expect(templateProblem('https://{ticket}.tracker.example/')).toMatch(/not in the host/);
    expect(parseTicket('https://evil.example/login')).toBeNull();
    expect(parseTicket(' INC-9 ')).toBe('INC-9');
    expect(parseTicket('INC 9')).toBeNull();
    expect(ticketUrl('https://t.example/{ticket}', 'A#1')).toBe('https://t.example/A%231');
    expect(ticketUrl(null, 'A-1')).toBeNull();
  });
});

describe('the ticket link template in the settings modal', () => {
  it('is refused unless https with {ticket}, saying so; a good one is saved', async () => {
    await h.grant('admin', 'U0TICKADMN');
    const before = (await readSettingsVersioned(h.db.db)).settings.ticketUrlTemplate;
    const bad = await submitSettings(h, 'U0TICKADMN', {
      ...settingsForm(),
      ticket_url_template: { value: { type: 'plain_text_input', value: 'http://tracker.example/{ticket}' } },
    });
    expect(bad.errors?.ticket_url_template).toMatch(/https/);
    expect((await readSettingsVersioned(h.db.db)).settings.ticketUrlTemplate).toBe(before);
    const good = await submitSettings(h, 'U0TICKADMN', {
      ...settingsForm(),
      ticket_url_template: {
        value: { type: 'plain_text_input', value: 'https://jira.example/browse/{ticket}' },
      },
    });
    expect(good.errors).toBeUndefined();
    expect((await readSettingsVersioned(h.db.db)).settings.ticketUrlTemplate).toBe(
      'https://jira.example/browse/{ticket}',
    );
  });
});

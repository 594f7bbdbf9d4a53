import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, bootHarness, type Harness } from '../helpers/harness.js';
import { postScore } from '../helpers/scores.js';
import { settingsForm, submitSettings } from '../helpers/settings-form.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, finding 3: exclusions matched the machine name and Defender tags, both settable from
// the device: malware renaming its host `dc-…` escaped automatic lockdown. Exclusion rules are now
// pinned, when an admin saves them, to the machine ids they match; a host that matches a rule
// only by name or tag afterwards is not exempt, and is flagged in its card and in the alert.

const ADMIN = 'U0RENADMIN';
const ALERTS = 'C0RENALERT';
let h: Harness;
let feed: string;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ADMIN);
  await h.configureDefender();
  h.slack.addChannel({ id: ALERTS, name: 'alerts', isMember: true });
  h.mde.addMachines([
    h.mde.machine({ computerDnsName: 'dc-01.contoso.com', osPlatform: 'WindowsServer2022' }),
  ]);
  await h.app.hostsSync.run();
  const r = await submitSettings(
    h,
    ADMIN,
    settingsForm({
      auto_exclusions: 'dc-*',
      threshold_threat: '50',
      threshold_certainty: '50',
      threshold_privilege: '1',
    }),
  );
  expect(r.response_action).toBeUndefined();
  // automation on, for real, with approval off (after the thresholds were saved)
  await h.settings({
    auto_enabled: true,
    auto_dry_run: false,
    approval_required: false,
    alert_channels: [ALERTS],
  });
  const t = await createApiToken(h.app.store, { name: 'feed', scopes: ['scores:write'] });
  feed = t === 'name_taken' ? '' : t.token;
});
afterAll(() => h.close());

async function score(host: string) {
  return (await postScore(h, feed, host)).results[0]?.auto?.outcome;
}

describe('a host cannot put itself on the exclusion list', () => {
  it('keeps the machine pinned when the rule was saved exempt', async () => {
    expect(await score('dc-01.contoso.com')).toBe('excluded');
  });

  it('locks a host renamed into a rule afterwards, and says so in the alert and its card', async () => {
    h.mde.addMachines([
      h.mde.machine({ computerDnsName: 'dc-backup7.contoso.com', osPlatform: 'Windows11' }),
    ]);
    await h.app.hostsSync.run();
    expect(await score('dc-backup7.contoso.com')).toBe('locked');
    const alert = await h.slack.waitForCall(
      'chat.postMessage',
      (c) =>
        c.args.channel === ALERTS &&
        /Lockdown requested/.test(String(c.args.text)) &&
        /dc-backup7/.test(String(c.args.text)),
    );
    expect(String(alert.args.text)).toMatch(/matches exclusion rule dc-\* only by name or tag/);

    // fresh in the inventory: the card comes in the command's answer
    const card = await h.slash('lookup dc-backup7.contoso.com', { as: ADMIN });
    expect(allText(card.json())).toMatch(/by name or tag only[\s\S]*not\* exempt/);
  });
});

describe('an unrelated edit of the exclusion list', () => {
  it('does not pin a host that renamed itself into an old rule since, and names every new pin', async () => {
    h.mde.addMachines([
      h.mde.machine({ computerDnsName: 'dc-rogue.contoso.com', osPlatform: 'Windows11' }),
      h.mde.machine({ computerDnsName: 'printer-07.contoso.com', osPlatform: 'Windows11' }),
    ]);
    await h.app.hostsSync.run();
    const values = settingsForm({
      auto_exclusions: 'dc-*\nprinter-*',
      threshold_threat: '50',
      threshold_certainty: '50',
      threshold_privilege: '1',
    });
    values.alert_channels = {
      value: { type: 'multi_conversations_select', selected_conversations: [ALERTS] },
    };
    const r = await submitSettings(h, ADMIN, values);
    expect(r.response_action).toBeUndefined();
    const [row] = await h.db.sql<{ data: { auto_exclusion_pins: Array<{ name: string }> } }[]>`
      select data from settings`;
    const pinned = row?.data.auto_exclusion_pins.map((p) => p.name) ?? [];
    expect(pinned).toContain('printer-07.contoso.com');
    expect(pinned).toContain('dc-01.contoso.com');
    expect(pinned).not.toContain('dc-rogue.contoso.com');
    const [audit] = await h.db.sql<{ details: { fields: string[] } }[]>`
      select details from audit_events where action = 'settings.changed' order by id desc limit 1`;
    expect(audit?.details.fields).toContain('auto_exclusion_pins');
    const said = await h.slack.waitForCall(
      'chat.postMessage',
      (c) =>
        c.args.channel === ALERTS &&
        /exclusions now exempt printer-07\.contoso\.com/.test(String(c.args.text)),
    );
    expect(String(said.args.text)).not.toContain('dc-rogue');
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { readSettingsVersioned } from '../../src/db/repos/settings.js';
import { allText, bootHarness, CLIENT_ID, CLIENT_SECRET, type Harness, TENANT } from '../helpers/harness.js';

// Verification slower than Slack's 3 s: the submission is answered with a "verifying…" view at once,
// then the modal is updated with the outcome (here the inline wait is 1 ms, so every check is "slow").
let h: Harness;
const ADMIN = 'U0SLOWADMN';
beforeAll(async () => {
  h = await bootHarness({ settingsVerifyInlineMs: 1 });
  await h.grant('admin', ADMIN);
});
afterAll(() => h.close());

const text = (value: string | null) => ({ value: { type: 'plain_text_input', value } });

it('answers "verifying…" within the ack, then shows the saved result', async () => {
  await h.slash('settings', { as: ADMIN });
  const open = await h.slack.waitForCall('views.open', () => true);
  const viewId = (open.response as { view?: { id?: string } }).view?.id ?? '';
  const values = Object.fromEntries(
    Object.entries({
      mde_tenant_id: TENANT,
      mde_client_id: CLIENT_ID,
      mde_client_secret: CLIENT_SECRET,
      mde_api_url: h.mde.url,
    }).map(([k, v]) => [k, text(v)]),
  ) as Record<string, Record<string, unknown>>;
  Object.assign(values, {
    poll_minutes: { value: { type: 'number_input', value: '15' } },
    approval_timeout_minutes: { value: { type: 'number_input', value: '30' } },
    threshold_threat: { value: { type: 'number_input', value: '80' } },
    threshold_certainty: { value: { type: 'number_input', value: '80' } },
    threshold_privilege: { value: { type: 'number_input', value: '7' } },
    auto_hourly_cap: { value: { type: 'number_input', value: '5' } },
    isolation_type: { value: { type: 'static_select', selected_option: { value: 'Full' } } },
    auto_minutes: { value: { type: 'static_select', selected_option: { value: '4h' } } },
  });
  const r = await h.signer.viewSubmission({
    userId: ADMIN,
    callbackId: 'settings',
    values,
    viewId,
    privateMetadata: JSON.stringify({ version: (await readSettingsVersioned(h.db.db)).version }),
  });
  const ack = r.json() as { response_action?: string; view?: unknown };
  expect(ack.response_action).toBe('update');
  expect(allText(ack.view)).toMatch(/Verifying/);
  const done = await h.slack.waitForCall('views.update', (c) =>
    /Verified and saved/.test(allText(c.args.view)),
  );
  expect(done.args.view_id).toBe(viewId);
  expect(await h.db.sql`select name from secrets order by name`).toHaveLength(4); // the credentials and the endpoint they are bound to
});

import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHarness, type Harness, SIGNING_SECRET } from '../helpers/harness.js';

// Issue #14, finding 7: the replay guard was keyed on the signature header, and Bolt ignores text
// after a second `=`: `v0=<hex>=1`, `=2`… replayed one signed request as new. The guard now keys
// on the timestamp and the body's hash, and a signature header that is not exactly `v0=<64 hex>`
// is refused before anything else.

const ADMIN = 'U0RPLADMIN';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ADMIN);
});
afterAll(() => h.close());

function signed(body: string, decorate = '') {
  const ts = String(Math.floor(Date.now() / 1000));
  const digest = createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return (suffix = decorate) =>
    fetch(`${h.app.url}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': `v0=${digest}${suffix}`,
      },
      body,
    });
}

describe('one signed request is handled once, however its signature is decorated', () => {
  it('refuses decorated signature headers and handles the plain one once', async () => {
    const body = new URLSearchParams({
      command: '/hostlock',
      text: 'token create replayed lockdown:view',
      user_id: ADMIN,
      team_id: h.slack.teamId,
      channel_id: 'C0000CHAN',
      response_url: h.slack.newResponseUrl({ channelId: 'C0000CHAN', userId: ADMIN }),
      trigger_id: h.slack.issueTriggerId({ userId: ADMIN }),
    }).toString();
    const send = signed(body);
    for (const suffix of ['=1', '=2', '=', ',v0=00', 'ff']) {
      expect((await send(suffix)).status).toBe(401);
    }
    const first = await send('');
    expect(first.status).toBe(200);
    expect(await first.text()).toMatch(/Created API token/);
    const again = await send('');
    expect(await again.text()).toMatch(/already received/);
    expect(await h.db.sql`select 1 from api_tokens where name = 'replayed'`).toHaveLength(1);
  });
});

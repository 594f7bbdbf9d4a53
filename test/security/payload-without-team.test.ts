import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHarness, type Harness, SIGNING_SECRET } from '../helpers/harness.js';

// Issue #14, finding 11: a signed payload without a team id passed the workspace check (only a
// *different* team was refused). It now fails closed: no team, no listener.

const ADMIN = 'U0NOTEAMAD';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ADMIN);
});
afterAll(() => h.close());

function post(body: string, contentType = 'application/x-www-form-urlencoded') {
  const ts = String(Math.floor(Date.now() / 1000));
  const digest = createHmac('sha256', SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return fetch(`${h.app.url}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': ts,
      'x-slack-signature': `v0=${digest}`,
    },
    body,
  });
}

describe('a payload that names no workspace is never taken for ours', () => {
  it('answers a team-less slash command without running it', async () => {
    const res = await post(
      new URLSearchParams({
        command: '/hostlock',
        text: 'token create teamless lockdown:edit',
        user_id: ADMIN,
        channel_id: 'C0000CHAN',
        response_url: h.slack.newResponseUrl({ channelId: 'C0000CHAN', userId: ADMIN }),
      }).toString(),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/could not read that request/);
    expect(await h.db.sql`select 1 from api_tokens where name = 'teamless'`).toHaveLength(0);
  });

  it('refuses a team-less click and a team-less event', async () => {
    const click = JSON.stringify({
      type: 'block_actions',
      user: { id: ADMIN },
      actions: [{ action_id: 'settings.delete', block_id: 'x', type: 'button' }],
      view: { id: 'V1', callback_id: 'settings' },
    });
    expect((await post(new URLSearchParams({ payload: click }).toString())).status).toBe(400);
    const event = JSON.stringify({
      type: 'event_callback',
      event_id: 'Ev0NOTEAM',
      event: { type: 'app_home_opened', user: ADMIN, tab: 'home' },
    });
    expect((await post(event, 'application/json')).status).toBe(400);
    expect(await h.db.sql`select 1 from audit_events where action = 'settings.changed'`).toHaveLength(0);
  });
});

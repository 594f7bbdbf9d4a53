import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { ActionId, lockdownBlockId } from '../../src/slack/ids.js';
import type { SignedResponse } from '../fakes/slack-signer.js';
import {
  APPROVER_CHANNEL,
  allText,
  BOT_TOKEN,
  bootHarness,
  CLIENT_ID,
  CLIENT_SECRET,
  type Harness,
  MASTER_KEY,
  SIGNING_SECRET,
  TENANT,
  until,
} from '../helpers/harness.js';

// Issue #9, reliability.md §8 and §9.4 F5: a run that handles every secret hostlock knows (bot token,
// signing secret, Defender client secret typed into the settings modal, a wrong one typed first, the
// Entra access token, a REST API token, the master key), with a syslog target and an alert channel,
// and a Defender error that echoes secrets. Then every log line, Slack Web API call, response_url
// post, ack, syslog line, outbox row and audit row is scanned for them: 0 hits.

const ADMIN = 'U0CNADMIN1';
const ALICE = 'U0CNALICE1';
const BOB = 'U0CNBOB001';
const ALERTS = 'C0CNALERTS';
const WRONG_SECRET = 'MDE_CANARY~typo-in-the-modal';
/** Shaped like an Entra client secret value (`xxx8Q~` + 34), as Defender might echo one. */
const ENTRA_SHAPED = `Cn71Q~${'CANARYentraSHAPEDsecret0123456789'.padEnd(34, 'x')}`;

let h: Harness;
let syslog: Server;
const syslogData: string[] = [];
const acks: Array<{ what: string; r: SignedResponse }> = [];

async function slash(text: string, as: string) {
  const r = await h.slash(text, { as });
  expect(r.status, text).toBe(200);
  acks.push({ what: `/hostlock ${text}`, r });
  return r;
}

function settingsForm(o: { secret: string; port: number }) {
  const t = (value: string | null) => ({ value: { type: 'plain_text_input', value } });
  const n = (value: string) => ({ value: { type: 'number_input', value } });
  const sel = (value: string) => ({ value: { type: 'static_select', selected_option: { value } } });
  const box = (on: boolean) => ({
    value: { type: 'checkboxes', selected_options: on ? [{ value: 'on' }] : [] },
  });
  return {
    ...{ mde_tenant_id: t(TENANT), mde_client_id: t(CLIENT_ID), mde_client_secret: t(o.secret) },
    ...{ mde_api_url: t(h.mde.url), poll_minutes: n('15'), isolation_type: sel('Full') },
    ...{ approval_required: box(true), approval_timeout_minutes: n('30'), auto_enabled: box(false) },
    ...{ auto_dry_run: box(true), auto_minutes: sel('4h'), threshold_threat: n('80') },
    ...{
      threshold_certainty: n('80'),
      threshold_privilege: n('7'),
      auto_exclusions: t(null),
      auto_hourly_cap: n('5'),
    },
    approver_channel: { value: { type: 'conversations_select', selected_conversation: APPROVER_CHANNEL } },
    alert_channels: { value: { type: 'multi_conversations_select', selected_conversations: [ALERTS] } },
    syslog_targets: t(`tcp://127.0.0.1:${o.port} json framing=lf`),
  };
}

async function submitSettings(secret: string) {
  await slash('settings', ADMIN);
  const opened = await h.slack.waitForCall(
    'views.open',
    (c) => c.status === 200 && allText(c.args.view).includes('Defender'),
  );
  const viewId = String((opened.response.view as { id?: string } | undefined)?.id);
  const port = (syslog.address() as { port: number }).port;
  const r = await h.signer.viewSubmission({
    userId: ADMIN,
    callbackId: 'settings',
    viewId,
    values: settingsForm({ secret, port }),
  });
  acks.push({ what: 'settings submission', r });
  expect(r.status).toBe(200);
  return r.text ? (r.json() as { response_action?: string; errors?: Record<string, string> }) : {};
}

async function lockdownOf(text: string, as: string) {
  await slash(text, as);
  const answer = await h.slack.waitForResponse(
    (p) => /Lockdown `lck_/.test(allText(p.body)) && allText(p.body).includes(text.split(' ')[1] ?? ''),
  );
  const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
  return until(async () => lockdownStore(h.db.db).get(id), `lockdown ${id}`);
}

const approve = async (id: string) => {
  const l = await lockdownStore(h.db.db).get(id);
  acks.push({
    what: 'approve click',
    r: await h.signer.blockAction({
      userId: BOB,
      actionId: ActionId.lockdownApprove,
      blockId: lockdownBlockId(id),
      value: id,
      channelId: APPROVER_CHANNEL,
      messageTs: l?.approvalTs ?? '',
    }),
  });
};
const stateOf = (id: string, state: string) =>
  until(
    async () => ((await lockdownStore(h.db.db).get(id))?.state === state ? true : null),
    `${id} → ${state}`,
  );
const outboxDrained = () =>
  until(
    async () => {
      const [r] = await h.db.sql<
        { n: number }[]
      >`select count(*)::int as n from outbox where delivered_at is null`;
      return r?.n === 0;
    },
    'every outbox row delivered',
    20_000,
  );

beforeAll(async () => {
  h = await bootHarness({ outbox: { retryBaseMs: 100, pollMs: 100 } });
  syslog = createServer((socket) => socket.on('data', (d) => syslogData.push(d.toString('utf8'))));
  await new Promise<void>((r) => syslog.listen(0, '127.0.0.1', r));
  await h.grant('admin', ADMIN);
  await h.grant('responder', ALICE);
  await h.grant('responder', BOB);
  h.slack.addChannel({ id: ALERTS, name: 'sec-alerts', isMember: true });
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => syslog.close(r));
});

describe('F5: canary secrets never leave hostlock', () => {
  it('a run touching every secret leaves 0 of them in logs, Slack, syslog, the outbox or the audit trail', {
    timeout: 60_000,
  }, async () => {
    // the modal: a wrong secret first (refused, with an Entra error that quotes it), then the right one
    h.mde.inject({
      method: 'POST',
      path: /oauth2\/v2\.0\/token$/,
      status: 401,
      code: 'invalid_client',
      message: `AADSTS7000215: Invalid client secret provided (client_secret=${WRONG_SECRET}).`,
    });
    expect((await submitSettings(WRONG_SECRET)).response_action).toBe('errors');
    expect((await submitSettings(CLIENT_SECRET)).response_action).toBeUndefined();

    // a REST API token: shown once in the ack, then used, and a forged one refused
    const created = await slash('token create canary-ci lockdown:view lockdown:edit', ADMIN);
    const apiToken = /hlk_[A-Za-z0-9_-]{43}/.exec(created.text)?.[0] ?? '';
    expect(apiToken).not.toBe('');
    acks.pop(); // the one place the token may appear: asserted above, not scanned
    const api = (bearer: string) =>
      fetch(`${h.app.url}/api/v2.1/lockdown/host`, { headers: { authorization: `Bearer ${bearer}` } });
    expect((await api(apiToken)).status).toBe(200);
    const forged = `hlk_${'CANARYforgedTOKEN'.padEnd(43, 'Q')}`;
    expect((await api(forged)).status).toBe(401);

    // a lockdown from request to release, told in the thread, the alert channel and syslog
    const ok = h.mde.machine({ computerDnsName: 'canary-01.contoso.com', osPlatform: 'Windows11' });
    const bad = h.mde.machine({ computerDnsName: 'canary-02.contoso.com', osPlatform: 'Windows11' });
    h.mde.addMachines([ok, bad]);
    const l = await lockdownOf('lock canary-01 1h canary run', ALICE);
    await approve(l.id);
    await until(async () => (await lockdownStore(h.db.db).get(l.id))?.mdeActionId, 'the isolate call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await stateOf(l.id, 'active');
    h.slack.fail('chat.update', { error: 'invalid_auth' }); // one Slack failure on the way, logged
    await slash('unlock canary-01 done', ALICE);
    await until(async () => (await lockdownStore(h.db.db).get(l.id))?.mdeReleaseActionId, 'the release call');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await h.app.lockdownJobs.sweep();
    await stateOf(l.id, 'released');

    // Defender refuses an isolation with an error body quoting secrets: the lockdown fails
    const bearers = [
      ...new Set(
        h.mde.requests
          .map((r) => /^Bearer (\S+)$/.exec(r.headers.authorization ?? '')?.[1])
          .filter((b): b is string => !!b),
      ),
    ];
    expect(bearers.length).toBeGreaterThan(0);
    const echoed = `Invalid request from ${BOT_TOKEN} with client_secret=${CLIENT_SECRET}, ${ENTRA_SHAPED}, ${apiToken} and Authorization: Bearer ${bearers[0]}`;
    h.mde.inject({
      method: 'POST',
      path: new RegExp(`/machines/${bad.id}/isolate$`),
      status: 400,
      code: 'InvalidRequestBody',
      message: echoed,
    });
    const failing = await lockdownOf('lock canary-02 1h second', ALICE);
    await approve(failing.id);
    await stateOf(failing.id, 'failed');
    await slash('history canary-02', ALICE);
    await slash('list', ALICE);
    await outboxDrained();
    await until(async () => syslogData.join('').includes(failing.id), 'the failure in syslog');

    const canaries: Record<string, string> = {
      'bot token': BOT_TOKEN,
      'signing secret': SIGNING_SECRET,
      'Defender client secret': CLIENT_SECRET,
      'mistyped client secret': WRONG_SECRET,
      'Entra-shaped secret': ENTRA_SHAPED,
      'REST API token': apiToken,
      'forged API token': forged,
      'master key': MASTER_KEY.toString('base64'),
      ...Object.fromEntries(bearers.map((b, i) => [`Entra access token ${i + 1}`, b])),
    };
    const [outbox, audit] = await Promise.all([
      h.db.sql<{ t: string }[]>`select concat_ws(' ', sink, payload::text, last_error) as t from outbox`,
      h.db.sql<
        { t: string }[]
      >`select concat_ws(' ', actor, action, target_id, details::text) as t from audit_events`,
    ]);
    const sources: Record<string, string[]> = {
      'log line': h.logs,
      'Slack Web API call': h.slack.calls.map(
        (c) => `${c.rawBody} ${JSON.stringify(c.args)} ${JSON.stringify(c.response)}`,
      ),
      'response_url post': h.slack.responses.map((p) => JSON.stringify(p.body)),
      ack: acks.map((a) => `${a.what}: ${a.r.text}`),
      'syslog line': syslogData.join('').split('\n').filter(Boolean),
      'outbox row': outbox.map((r) => r.t),
      'audit row': audit.map((r) => r.t),
    };
    const hits: string[] = [];
    for (const [source, lines] of Object.entries(sources)) {
      for (const line of lines) {
        for (const [name, secret] of Object.entries(canaries)) {
          if (line.includes(secret)) {
            hits.push(
              `${name} in ${source}: …${line.slice(Math.max(0, line.indexOf(secret) - 80), line.indexOf(secret) + 20)}…`,
            );
          }
        }
      }
    }
    const scanned = Object.entries(sources).map(([s, lines]) => `${lines.length} ${s}s`);
    const total = Object.values(sources).reduce((n, lines) => n + lines.length, 0);
    console.log(
      `F5 canary scan: ${Object.keys(canaries).length} canaries × ${total} lines (${scanned.join(', ')}) → ${hits.length} hits`,
    );
    // every sink really saw the run (a scan of nothing would pass)
    for (const [source, lines] of Object.entries(sources)) {
      expect(lines.length, source).toBeGreaterThan(0);
    }
    expect(sources['syslog line']?.join('\n')).toContain('lockdown.released');
    expect(
      h.slack
        .callsTo('chat.postMessage')
        .some((c) => c.args.channel === ALERTS && /failed/i.test(String(c.args.text))),
    ).toBe(true);
    expect(hits).toEqual([]);
  });
});

// Before the incident: carol (admin, from HOSTLOCK_ADMINS) opens /hostlock settings, fills in the
// modal and saves it (credentials are verified against Defender before they are stored), then
// grants the responder role to alice and bob. All of it as signed Slack requests.
import { CHANNELS, type DemoEnv, MDE_APP, PEOPLE } from './env.js';
import type { Transcript } from './transcript.js';
import { until, untilCall, untilDelivered } from './wait.js';

type Json = Record<string, unknown>;
type StateValues = Record<string, Record<string, unknown>>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `view.state.values` as Slack sends them on submit: every input at its initial value (what the
 * modal was opened with), then the inputs the admin changed (`typed`, by block id).
 */
function submittedState(view: Json, typed: Record<string, unknown>): StateValues {
  const values: StateValues = {};
  for (const b of Array.isArray(view.blocks) ? view.blocks : []) {
    if (!isRecord(b) || b.type !== 'input' || !isRecord(b.element)) {
      continue;
    }
    const e = b.element;
    const blockId = String(b.block_id);
    const type = String(e.type);
    const given = typed[blockId];
    let value: Json;
    if (type === 'plain_text_input' || type === 'number_input') {
      value = { type, value: given ?? e.initial_value ?? null };
    } else if (type === 'static_select') {
      value = { type, selected_option: given ? { value: given } : (e.initial_option ?? null) };
    } else if (type === 'checkboxes') {
      const on = given === undefined ? (e.initial_options ?? []) : given ? [{ value: 'on' }] : [];
      value = { type, selected_options: on };
    } else if (type === 'conversations_select') {
      value = { type, selected_conversation: given ?? e.initial_conversation ?? null };
    } else if (type === 'multi_conversations_select') {
      value = { type, selected_conversations: given ?? e.initial_conversations ?? [] };
    } else {
      continue;
    }
    values[blockId] = { [String(e.action_id)]: value };
  }
  return values;
}

/** carol opens /hostlock settings, changes `typed` (what `said` says) and saves: nothing refused. */
async function saveSettings(env: DemoEnv, t: Transcript, said: string[], typed: Record<string, unknown>) {
  const { signer, slack } = env;
  const carol = PEOPLE.carol.id;
  t.act('carol', '/hostlock settings', CHANNELS.alerts.name);
  const from = slack.calls.length;
  t.ack('carol', await signer.command({ text: 'settings', userId: carol, channelId: CHANNELS.alerts.id }));
  const opened = await untilCall(env, from, 'views.open', () => true, 'the settings modal');
  const view = isRecord(opened.response.view) ? opened.response.view : {};
  t.act(
    'carol',
    ['fills in the modal and clicks “Verify and save”:', ...said.map((l) => `       ${l}`)].join('\n'),
  );
  const saved = await signer.viewSubmission({
    userId: carol,
    callbackId: 'settings',
    values: submittedState(view, typed),
    privateMetadata: String(view.private_metadata ?? '{"version":0}'),
    ...(typeof view.id === 'string' ? { viewId: view.id } : {}),
  });
  t.ack('carol', saved);
  if (saved.status !== 200 || saved.text) {
    throw new Error(`demo: the settings were not saved: ${saved.status} ${saved.text}`);
  }
  t.show('carol sees', ['the modal closes: verified and saved']);
}

export async function setUp(env: DemoEnv, t: Transcript): Promise<void> {
  t.section('carol (admin) connects hostlock to Defender, approvals, alerts and the SIEM');
  const syslogTarget = `tcp://127.0.0.1:${env.syslog.port} json profile=full`;
  await saveSettings(
    env,
    t,
    [
      `Defender tenant ${MDE_APP.tenantId}, app ${MDE_APP.clientId}, client secret ••••••••`,
      `approvals required · approver channel #${CHANNELS.approvals.name} · alert channel #${CHANNELS.alerts.name}`,
      `syslog target ${syslogTarget}`,
    ],
    {
      mde_tenant_id: MDE_APP.tenantId,
      mde_client_id: MDE_APP.clientId,
      mde_client_secret: MDE_APP.secret,
      approval_required: true,
      approver_channel: CHANNELS.approvals.id,
      alert_channels: [CHANNELS.alerts.id],
      syslog_targets: syslogTarget,
    },
  );
  await until(async () => {
    const [row] = await env.hostlock.database.sql`select count(*)::int as n from secrets
      where name in ('mde_tenant_id', 'mde_client_id', 'mde_client_secret')`;
    return row?.n === 3;
  }, 'the Defender credentials to be stored');
  // new credentials start the inventory at once; an exclusion rule exempts the hosts it matches
  // when it is saved (a device cannot rename itself into the list later), so it comes second
  await until(async () => {
    const [row] = await env.hostlock.database.sql`select last_success_at from inventory_sync where id = 1`;
    return row?.last_success_at ? true : null;
  }, 'the first inventory sync');
  await untilDelivered(env);

  t.section('with the inventory in, carol exempts the domain controllers from lockdowns');
  await saveSettings(env, t, ['exclusions dc-*'], { auto_exclusions: 'dc-*' });
  await untilDelivered(env);

  t.section('carol grants the responder role to alice and bob');
  const { signer } = env;
  const carol = PEOPLE.carol.id;
  for (const who of ['alice', 'bob'] as const) {
    const p = PEOPLE[who];
    t.act('carol', `/hostlock roles grant responder @${p.name}`, CHANNELS.alerts.name);
    // With should_escape, Slack sends the mention as <@U…|name>.
    t.ack(
      'carol',
      await signer.command({
        text: `roles grant responder <@${p.id}|${p.name}>`,
        userId: carol,
        channelId: CHANNELS.alerts.id,
      }),
    );
    await untilDelivered(env);
  }
  t.flush();
}

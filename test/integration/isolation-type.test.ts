import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { ActionId, hostBlockId } from '../../src/slack/ids.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #15, item 10: Full or Selective per request — `--selective` / `--full` in Slack, a group
// of the host card's Lock choice, REST `isolation_type` — defaulting to the settings. Where
// Defender has no selective isolation (Linux), an explicit Selective is refused before Defender is
// asked, and a Selective default falls back to Full with a note.

const ALICE = 'U0ISOALICE';
let h: Harness;
let token = '';

beforeAll(async () => {
  h = await bootHarness();
  await h.configureDefender();
  await h.grant('responder', ALICE);
  await h.settings({ approval_required: false });
  const t = await createApiToken(h.app.store, {
    name: 'iso-type',
    scopes: ['lockdown:edit', 'lockdown:view'],
  });
  token = t === 'name_taken' ? '' : t.token;
});
afterAll(() => h.close());

function machine(name: string, osPlatform: string) {
  const m = h.mde.machine({ computerDnsName: name, osPlatform });
  h.mde.addMachines([m]);
  return m;
}
const isolateBody = async (machineId: string) => {
  const req = await until(
    async () =>
      h.mde.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/isolate`)),
    'the isolate call',
  );
  return JSON.parse(req.body ?? '{}') as { Comment: string; IsolationType: string };
};
const isolateCalls = (machineId: string) =>
  h.mde.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/machines/${machineId}/isolate`))
    .length;
const ack = async (text: string) => allText((await h.slash(text, { as: ALICE })).json());
/** The follow-up answer to a command (not the ack), among responses after it was sent. */
const answer = async (text: string, host: string) => {
  const before = h.slack.responses.length;
  await h.slash(text, { as: ALICE });
  return until(async () => {
    const p = h.slack.responses.slice(before).find((x) => allText(x.body).includes(host));
    return p ? allText(p.body) : null;
  }, `the answer to ${text}`);
};

describe('Full or Selective per request', () => {
  it('--selective on Windows asks Defender for Selective; the flag is not part of the reason', async () => {
    const m = machine('sel-win-01.contoso.com', 'Windows11');
    expect(await answer('lock sel-win-01 1h --selective phishing payload', 'sel-win-01')).toMatch(
      /selective isolation/,
    );
    const body = await isolateBody(m.id);
    expect(body.IsolationType).toBe('Selective');
    expect(body.Comment).toMatch(/: phishing payload$/);
    expect((await lockdownStore(h.db.db).openForMachine(m.id))?.isolationType).toBe('Selective');
  });

  it('refuses --selective on Linux before asking Defender, and --selective with --full', async () => {
    const m = machine('sel-lin-01.contoso.com', 'Linux');
    expect(await answer('lock sel-lin-01 1h --selective', 'does not support')).toMatch(
      /does not support selective isolation.*without `--selective`/,
    );
    expect(await ack('lock sel-lin-01 1h --selective --full')).toMatch(/not both/);
    expect(isolateCalls(m.id)).toBe(0);
    expect(await lockdownStore(h.db.db).openForMachine(m.id)).toBeNull();
  });

  it('a Selective default falls back to Full on Linux, and says so', async () => {
    await h.settings({ isolation_type: 'Selective' });
    try {
      const m = machine('sel-lin-02.contoso.com', 'Linux');
      expect(await answer('lock sel-lin-02 1h', 'sel-lin-02')).toMatch(
        /does not support selective isolation on Linux: the host is isolated fully/,
      );
      expect((await isolateBody(m.id)).IsolationType).toBe('Full');
      // --full overrides a Selective default on Windows
      const w = machine('sel-win-02.contoso.com', 'Windows11');
      await answer('lock sel-win-02 1h --full', 'sel-win-02');
      expect((await isolateBody(w.id)).IsolationType).toBe('Full');
    } finally {
      await h.settings({ isolation_type: 'Full' });
    }
  });

  it('REST isolation_type: Selective on Windows is asked for and shown; on Linux 409, nothing locked', async () => {
    const w = machine('sel-win-03.contoso.com', 'Windows10');
    const post = (host: string, isolation_type: string) =>
      fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ host, duration: '1h', isolation_type }),
      });
    const ok = await post(w.computerDnsName, 'Selective');
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ isolation_type: 'Selective' });
    expect((await isolateBody(w.id)).IsolationType).toBe('Selective');

    const l = machine('sel-lin-03.contoso.com', 'Linux');
    const refused = await post(l.computerDnsName, 'Selective');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: 'selective_unsupported' } });
    const bad = await post(l.computerDnsName, 'Partial');
    expect(bad.status).toBe(400);
    expect(isolateCalls(l.id)).toBe(0);
  });

  it('the host card’s Selective choice isolates selectively', async () => {
    const m = machine('sel-card-01.contoso.com', 'Windows11');
    await h.app.hostsSync.run();
    await h.signer.blockAction({
      userId: ALICE,
      actionId: ActionId.hostLock,
      blockId: hostBlockId(m.id),
      selectedOption: '2h-selective',
      channelId: 'C0000CHAN',
      messageTs: '1.000001',
    });
    expect((await isolateBody(m.id)).IsolationType).toBe('Selective');
    expect((await lockdownStore(h.db.db).openForMachine(m.id))?.durationMinutes).toBe(120);
  });
});

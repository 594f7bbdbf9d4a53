import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicErrorText } from '../../src/core/errors.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { APPROVER_CHANNEL, allText, bootHarness, type Harness, until } from '../helpers/harness.js';
import { createApiToken } from '../helpers/tokens.js';

// Issue #14, finding 16: an `ambiguous` refusal listed host names and machine ids to a token that
// may not view hosts, and lockdown threads showed Defender's raw error text with internal
// addresses. Candidates are listed only to tokens with lockdown:view; threads show the error with
// URLs, addresses and host:port pairs replaced (the audit row keeps the full text).

const ALICE = 'U0LEAKALIC';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ALICE);
  await h.configureDefender();
  await h.settings({ approval_required: false, approver_channel: APPROVER_CHANNEL });
  h.mde.addMachines([
    h.mde.machine({ computerDnsName: 'twin-01.contoso.com', osPlatform: 'Windows11' }),
    h.mde.machine({ computerDnsName: 'twin-01.fabrikam.com', osPlatform: 'Windows11' }),
  ]);
  await h.app.hostsSync.run();
});
afterAll(() => h.close());

async function lockAs(scopes: Array<'lockdown:edit' | 'lockdown:view'>, name: string) {
  const t = await createApiToken(h.app.store, { name, scopes });
  const res = await fetch(`${h.app.url}/api/v2.1/lockdown/host`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t === 'name_taken' ? '' : t.token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ host: 'twin-01', duration: '1h' }),
  });
  return { status: res.status, text: await res.text() };
}

describe('what refusals and threads give away', () => {
  it('lists an ambiguous name’s machines only to a token that may view hosts', async () => {
    const blind = await lockAs(['lockdown:edit'], 'edit-only');
    expect(blind.status).toBe(409);
    expect(blind.text).not.toMatch(/fabrikam|contoso|[0-9a-f]{40}/);
    const seeing = await lockAs(['lockdown:edit', 'lockdown:view'], 'edit-view');
    expect(seeing.text).toMatch(/twin-01\.contoso\.com = [0-9a-f]{40}/);
  });

  it('keeps internal addresses out of the thread when Defender’s error quotes them', async () => {
    h.mde.addMachines([h.mde.machine({ computerDnsName: 'leaky-01.contoso.com', osPlatform: 'Windows11' })]);
    h.mde.inject({
      method: 'POST',
      path: /isolate$/,
      status: 400,
      code: 'BadRequest',
      message: 'proxy https://proxy.corp.internal:8443/x refused 10.20.30.40:443 via fd00::1',
      times: 5,
    });
    await h.slash('lock leaky-01 1h', { as: ALICE });
    const answer = await h.slack.waitForResponse((p) => /leaky-01/.test(allText(p.body)));
    const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
    const l = await until(async () => {
      const row = await lockdownStore(h.db.db).get(id);
      return row?.state === 'failed' ? row : null;
    }, 'the failed isolation');
    const threadText = () =>
      h.slack.messages
        .filter(
          (m) => m.channel === l.approvalChannel && (m.ts === l.approvalTs || m.threadTs === l.approvalTs),
        )
        .map((m) => allText([m.text, m.blocks]))
        .join('\n');
    // the thread is told after the change commits: wait for the failure to be posted
    const thread = await until(
      async () => (/failed \(/.test(threadText()) ? threadText() : null),
      'the failure in the thread',
    );
    expect(thread).not.toMatch(/10\.20\.30\.40|proxy\.corp\.internal|fd00::1/);
    expect(l.lastError).toMatch(/10\.20\.30\.40/); // kept where operators look: the row, the audit
  });

  it('replaces URLs, IPv4/IPv6 addresses and host:port pairs', () => {
    expect(
      publicErrorText('connect ECONNREFUSED 10.0.0.5:443 (https://a.b/c) db.internal:5432 [2001:db8::1]:443'),
    ).toBe('connect ECONNREFUSED [address] ([address]) [address] [address]');
  });
});

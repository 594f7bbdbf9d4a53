import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lockdown } from '../../src/core/lockdown/types.js';
import { lockdownStore } from '../../src/db/repos/lockdowns.js';
import { allText, bootHarness, type Harness, until } from '../helpers/harness.js';

// Issue #14, finding 15: hostlock recognised its own Defender actions by the `[hostlock:<id>]` tag
// anywhere in the comment, and the user's reason went into that comment. A reason (or a portal
// comment) carrying a tag could make someone else's action pass for hostlock's. The tag now counts
// only at the start, and free text in comments cannot contain one.

const ALICE = 'U0TAGALICE';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ALICE);
  await h.configureDefender();
  await h.settings({ approval_required: false });
});
afterAll(() => h.close());

async function lock(host: string, reason: string): Promise<{ l: Lockdown; machineId: string }> {
  const m = h.mde.machine({ computerDnsName: host, osPlatform: 'Windows11' });
  h.mde.addMachines([m]);
  await h.slash(`lock ${host.split('.')[0]} 1h ${reason}`, { as: ALICE });
  const answer = await h.slack.waitForResponse((p) => allText(p.body).includes(host));
  const id = /`(lck_[a-z0-9]+)`/.exec(allText(answer.body))?.[1] ?? '';
  const l = await until(async () => {
    const row = await lockdownStore(h.db.db).get(id);
    return row?.mdeActionId ? row : null;
  }, 'the isolate call');
  return { l, machineId: m.id };
}

describe('a forged [hostlock:…] tag makes nothing hostlock’s', () => {
  it('keeps brackets out of the reason in Defender’s comment, so a reason cannot carry a tag', async () => {
    const { l } = await lock('tag-01.contoso.com', 'see [hostlock:lck_0000000000000000] ]evil[');
    const sent = h.mde.actions.find((a) => a.id === l.mdeActionId);
    expect(sent?.requestorComment).toMatch(new RegExp(`^\\[hostlock:${l.id}\\] `));
    expect((sent?.requestorComment ?? '').match(/\[hostlock:/g)).toHaveLength(1);
    expect(sent?.requestorComment).toContain('(hostlock:lck_0000000000000000) )evil(');
  });

  it('treats a release whose comment merely quotes the tag as someone else’s', async () => {
    const { l, machineId } = await lock('tag-02.contoso.com', 'beacon');
    h.mde.advanceActions();
    h.mde.advanceActions();
    await until(
      async () => ((await lockdownStore(h.db.db).get(l.id))?.state === 'active' ? true : null),
      'active',
    );
    // released in the portal by someone who pasted hostlock's tag into their comment
    h.mde.addAction({
      machineId,
      type: 'Unisolate',
      status: 'Succeeded',
      requestorComment: `portal release, was [hostlock:${l.id}]`,
    });
    await h.db.sql`update lockdowns set next_check_at = now() where id = ${l.id}`;
    await h.app.lockdownJobs.sweep();
    const after = await until(async () => {
      const row = await lockdownStore(h.db.db).get(l.id);
      return row?.state === 'active' ? null : row;
    }, 'the outside release noticed');
    expect(after.state).toBe('released_externally');
    expect(after.releaseReason).toBe('external');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, bootHarness, type Harness, startAnother } from '../helpers/harness.js';

// Issue #14, finding 10: HOSTLOCK_ADMINS re-granted admin at every start, undoing a revocation made
// in Slack (and handing admin to anyone added to the variable later). It now only bootstraps while
// nobody holds admin, and says so in the log.

const ALICE = 'U0ENVALICE';
const CAROL = 'U0ENVCAROL';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
  await h.grant('admin', ALICE);
  await h.grant('admin', CAROL);
});
afterAll(() => h.close());

async function restartWithAdmins(admins: string) {
  const lines: string[] = [];
  const app = await startAnother(h, { env: { HOSTLOCK_ADMINS: admins }, lines });
  await app.stop();
  return lines;
}

const admins = async () =>
  (await h.db.sql<{ subject_id: string }[]>`select subject_id from role_bindings where role = 'admin'`).map(
    (r) => r.subject_id,
  );

describe('HOSTLOCK_ADMINS does not undo a revocation', () => {
  it('leaves a revoked admin revoked across a restart, and grants nobody new while admins exist', async () => {
    const r = await h.slash(`roles revoke admin <@${ALICE}>`, { as: CAROL });
    expect(allText(r.json())).toMatch(/no longer has/);
    const log = await restartWithAdmins(`${ALICE},U0ENVMALLO`);
    expect((await admins()).sort()).toEqual([CAROL]);
    expect(log.some((l) => l.includes('roles.bootstrap_skipped_admins_exist'))).toBe(true);
  });

  it('still bootstraps a workspace where nobody is admin', async () => {
    await h.db.sql`delete from role_bindings where role = 'admin'`;
    await restartWithAdmins(ALICE);
    expect(await admins()).toEqual([ALICE]);
  });
});

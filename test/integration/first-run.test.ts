import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, bootHarness, type Harness } from '../helpers/harness.js';

// Issue #16, item 9: the first run in Slack. A person with no role is told who the admins are (not
// pointed at a command that refuses them too); /hostlock help shows what the caller's roles allow,
// with one example per command; on a fresh install, what the operator must do.

const ADMIN = 'U0FIRSTADM';
const NEWBIE = 'U0FIRSTNEW';
const ANALYST = 'U0FIRSTANA';
let h: Harness;

beforeAll(async () => {
  h = await bootHarness();
});
afterAll(() => h.close());

describe('a workspace member with no role', () => {
  it('on a fresh install (no admin), is told what the operator must do', async () => {
    const r = allText((await h.slash('list', { as: NEWBIE })).json());
    expect(r).toMatch(/lockdown:view/);
    expect(r).toMatch(/no admin yet.*HOSTLOCK_ADMINS/);
  });

  it('once there is an admin, is told who the admins are, by mention', async () => {
    await h.grant('admin', ADMIN);
    const r = allText((await h.slash('lookup web-01', { as: NEWBIE })).json());
    expect(r).toMatch(/You have no hostlock role yet/);
    expect(r).toContain(`<@${ADMIN}>`);
    expect(r).not.toMatch(/`\/hostlock roles`/);
  });

  it('sees in help only what needs no role, and what the rest needs', async () => {
    const help = allText((await h.slash('help', { as: NEWBIE })).json());
    expect(help).toMatch(/What you can do/);
    expect(help).toContain('/hostlock help');
    expect(help).not.toMatch(/\/hostlock lock </);
    expect(help).toMatch(/Needs a role you do not have.*`lock` \(lockdown:edit\)/s);
  });
});

describe('help for a role', () => {
  it('an analyst sees lookup, list and history with an example each, not lock', async () => {
    await h.grant('analyst', ANALYST);
    const help = allText((await h.slash('help', { as: ANALYST })).json());
    expect(help).toMatch(/\/hostlock lookup .*e\.g\. `\/hostlock lookup 10\.1\.2\.3`/);
    expect(help).toMatch(/\/hostlock history .*e\.g\./);
    expect(help).not.toMatch(/• `\/hostlock lock /);
    expect(help).toMatch(/`lock` \(lockdown:edit\)/);
  });

  it('an admin sees every command', async () => {
    const help = allText((await h.slash('help', { as: ADMIN })).json());
    for (const c of ['lookup', 'lock', 'unlock', 'list', 'history', 'roles', 'token', 'settings']) {
      expect(help).toContain(`\`/hostlock ${c}`);
    }
    expect(help).not.toMatch(/Needs a role you do not have/);
  });
});

describe('start-up', () => {
  it('warned that no admin existed', () => {
    expect(h.logs.some((l) => /"msg":"roles\.no_admin"/.test(l))).toBe(true);
  });
});

import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, lockdowns, roleBindings } from '../../src/db/schema.js';
import { historySubcommand, listSubcommand } from '../../src/slack/commands/list.js';
import type { Subcommand } from '../../src/slack/commands/registry.js';
import { rolesSubcommand } from '../../src/slack/commands/roles.js';
import { bootHarness, type Harness, runSubcommand } from '../helpers/harness.js';
import { defenderMachine } from '../helpers/memory/lockdowns.js';

// The subcommands are called directly (as the /hostlock router would), with real Postgres behind them.

const ADMIN = 'U0ADMIN001';
const ADMIN2 = 'U0ADMIN002';
const ANALYST = 'U0ANALYST1';
const RESPONDER = 'U0RESPOND1';
const STRANGER = 'U0STRANGER';
const NEWBIE = 'U0NEWBIE01';
const GROUP = 'S0ONCALL01';
const GROUPIE = 'U0GROUPIE1';

let h: Harness;
let roles: Subcommand;
let list: Subcommand;
let history: Subcommand;

const run = runSubcommand;

const bindingsOf = (subjectId: string) =>
  h.db.db.select().from(roleBindings).where(eq(roleBindings.subjectId, subjectId));
const auditOf = (action: string, targetId?: string) =>
  h.db.db
    .select()
    .from(auditEvents)
    .where(
      targetId
        ? and(eq(auditEvents.action, action), eq(auditEvents.targetId, targetId))
        : eq(auditEvents.action, action),
    );

const hex40 = (n: number) => n.toString(16).padStart(40, 'a');
const machine = (machineId: string, name: string) => defenderMachine({ machineId, name });
type NewRow = typeof lockdowns.$inferInsert;
const row = (r: Partial<NewRow> & Pick<NewRow, 'id' | 'machineId' | 'state'>): NewRow => ({
  hostName: 'host',
  durationMinutes: 240,
  requestedBy: `slack:${RESPONDER}`,
  source: 'manual',
  ...r,
});

beforeAll(async () => {
  h = await bootHarness();
  roles = rolesSubcommand(h.app.slackDeps);
  list = listSubcommand(h.app.slackDeps);
  history = historySubcommand(h.app.slackDeps);
  await h.grant('admin', ADMIN);
  await h.grant('analyst', ANALYST);
  await h.grant('responder', RESPONDER);
  h.slack.setUsergroup(GROUP, [GROUPIE]);
});
afterAll(() => h.close());

describe('/hostlock roles grant and revoke', () => {
  it('grants a role to a mentioned user, audits it once, and says when it was already held', async () => {
    const r = await run(roles, ADMIN, `grant Responder <@${NEWBIE}|newbie>`);
    expect(r.text).toContain(`<@${NEWBIE}> now has the \`responder\` role`);
    const rows = await bindingsOf(NEWBIE);
    expect(rows).toMatchObject([{ role: 'responder', subjectType: 'user', grantedBy: `slack:${ADMIN}` }]);
    const again = await run(roles, ADMIN, `grant responder ${NEWBIE}`);
    expect(again.text).toMatch(/already had the `responder` role; nothing changed/);
    const audit = await auditOf('role.granted', NEWBIE);
    expect(audit).toMatchObject([
      { actor: `slack:${ADMIN}`, targetType: 'user', outcome: 'ok', details: { role: 'responder' } },
    ]);
  });

  it('grants a role to a user group, whose members then hold it', async () => {
    expect((await run(list, GROUPIE, '')).text).toMatch(/lockdown:view/);
    const r = await run(roles, ADMIN, `grant responder <!subteam^${GROUP}|@oncall>`);
    expect(r.text).toContain(`<!subteam^${GROUP}> now has the \`responder\` role`);
    expect(await bindingsOf(GROUP)).toMatchObject([{ role: 'responder', subjectType: 'usergroup' }]);
    expect(await auditOf('role.granted', GROUP)).toMatchObject([{ targetType: 'usergroup' }]);
    expect((await run(list, GROUPIE, '')).text).toBe(
      'No open lockdowns, and no host is isolated outside hostlock.',
    );
  });

  it('refuses a grant by a user without settings:edit, changes nothing and audits the refusal', async () => {
    const r = await run(roles, RESPONDER, `grant admin <@${RESPONDER}>`);
    expect(r.text).toMatch(/You need the `settings:edit` permission/);
    expect(await bindingsOf(RESPONDER)).toMatchObject([{ role: 'responder' }]);
    const denied = await h.db.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'authz.denied'), eq(auditEvents.actor, `slack:${RESPONDER}`)));
    expect(denied).toMatchObject([{ outcome: 'denied', details: { permission: 'settings:edit' } }]);
  });

  it('answers an unknown role with the valid ones', async () => {
    const r = await run(roles, ADMIN, `grant superuser <@${STRANGER}>`);
    expect(r.text).toMatch(/`superuser` is not a role/);
    expect(r.text).toMatch(/`admin`, `responder`, `analyst`/);
    expect(await bindingsOf(STRANGER)).toEqual([]);
  });

  it.each([
    ['an unescaped handle', '@alice'],
    ['a channel', '<#C0GENERAL|general>'],
    ['a special mention', '<!channel>'],
    ['nothing', ''],
  ])('answers %s in place of a user with how to name one', async (_, subject) => {
    const r = await run(roles, ADMIN, `grant analyst ${subject}`);
    expect(r.text).toMatch(/Mention one user or user group/);
    expect(r.text).not.toContain('<!channel>');
    expect(r.text).not.toContain('<#C0GENERAL');
    expect(await h.db.db.select().from(roleBindings).where(eq(roleBindings.subjectId, subject))).toEqual([]);
  });

  it('revokes a binding, audits it, and says when there was nothing to revoke', async () => {
    const r = await run(roles, ADMIN, `revoke responder <@${NEWBIE}|newbie>`);
    expect(r.text).toContain(`<@${NEWBIE}> no longer has the \`responder\` role`);
    expect(await bindingsOf(NEWBIE)).toEqual([]);
    expect(await auditOf('role.revoked', NEWBIE)).toMatchObject([
      { actor: `slack:${ADMIN}`, targetType: 'user', details: { role: 'responder' } },
    ]);
    const again = await run(roles, ADMIN, `revoke responder ${NEWBIE}`);
    expect(again.text).toMatch(/did not have the `responder` role; nothing changed/);
    expect(await auditOf('role.revoked', NEWBIE)).toHaveLength(1);
  });

  it('refuses to revoke the last admin binding, and allows it once another admin exists', async () => {
    const last = await run(roles, ADMIN, `revoke admin <@${ADMIN}>`);
    expect(last.text).toMatch(/last `admin` binding; revoking it would leave nobody able to manage hostlock/);
    expect(await bindingsOf(ADMIN)).toMatchObject([{ role: 'admin' }]);
    expect(await auditOf('role.revoked', ADMIN)).toEqual([]);

    await run(roles, ADMIN, `grant admin <@${ADMIN2}>`);
    const ok = await run(roles, ADMIN2, `revoke admin <@${ADMIN}>`);
    expect(ok.text).toContain(`<@${ADMIN}> no longer has the \`admin\` role`);
    expect(await bindingsOf(ADMIN)).toEqual([]);
    expect((await run(roles, ADMIN2, `revoke admin ${ADMIN2}`)).text).toMatch(/last `admin` binding/);
    // the former admin can no longer change roles
    expect((await run(roles, ADMIN, `grant admin ${ADMIN}`)).text).toMatch(/`settings:edit`/);
  });
});

describe('/hostlock roles list', () => {
  it('shows each role with its users and groups, and what each role may do', async () => {
    const r = await run(roles, ANALYST, '');
    expect(r.text).toContain(`*admin*: <@${ADMIN2}>`);
    expect(r.text).toMatch(new RegExp(`\\*responder\\*: .*<@${RESPONDER}>`));
    expect(r.text).toContain(`<!subteam^${GROUP}>`);
    expect(r.text).toContain('*analyst*: <@U0ANALYST1>');
    expect(r.text).toContain('*responder*: `lockdown:view`, `lockdown:edit`, `lockdown:approve`');
    expect((await run(roles, ANALYST, 'list')).text).toBe(r.text);
  });

  it('refuses the listing to users without settings:view', async () => {
    expect((await run(roles, RESPONDER, 'list')).text).toMatch(/You need the `settings:view` permission/);
    expect((await run(roles, STRANGER, '')).text).toMatch(/`settings:view`/);
  });

  it('refuses an analyst a grant', async () => {
    expect((await run(roles, ANALYST, `grant admin ${ANALYST}`)).text).toMatch(/`settings:edit`/);
    expect(await bindingsOf(ANALYST)).toMatchObject([{ role: 'analyst' }]);
  });
});

describe('/hostlock list', () => {
  it('says so when nothing is open', async () => {
    expect((await run(list, ANALYST, '')).text).toBe(
      'No open lockdowns, and no host is isolated outside hostlock.',
    );
  });

  it('lists open lockdowns and pending requests with who, state and time left, escaped', async () => {
    const now = h.app.slackDeps.clock.now();
    await h.db.db.insert(lockdowns).values([
      row({ id: 'lck_pending1', machineId: hex40(1), hostName: 'web-01', state: 'pending_approval' }),
      row({
        id: 'lck_active01',
        machineId: hex40(2),
        hostName: 'evil<!channel>`x',
        state: 'active',
        approvedBy: `slack:${ADMIN2}`,
        lockedAt: now,
        expiresAt: new Date(now.getTime() + (3 * 60 + 30) * 60_000),
      }),
      row({
        id: 'lck_closed01',
        machineId: hex40(3),
        hostName: 'old-01',
        state: 'released',
        releaseReason: 'expired',
      }),
    ]);
    const r = await run(list, ANALYST, '');
    expect(r.text).toMatch(/2 open lockdowns \(1 awaiting approval\)/);
    expect(r.text).toMatch(/`web-01` — \*:hourglass: awaiting approval\*/);
    expect(r.text).toMatch(/:lock: locked down\* · 3 h (29|30) min left/);
    expect(r.text).toContain(`requested by <@${RESPONDER}>`);
    expect(r.text).toContain(`approved by <@${ADMIN2}>`);
    expect(r.text).toContain('`lck_pending1`');
    expect(r.text).toContain("`evil&lt;!channel&gt;'x`");
    expect(r.text).not.toContain('<!channel>');
    expect(r.text).not.toContain('old-01');
  });

  it('stays within Block Kit limits with many open lockdowns', async () => {
    await h.db.db.insert(lockdowns).values(
      Array.from({ length: 60 }, (_, i) =>
        row({
          id: `lck_many${i}`,
          machineId: hex40(100 + i),
          hostName: `${'long-name-'.repeat(11)}${i}`,
          state: 'pending_approval',
          reason: 'x'.repeat(500),
        }),
      ),
    );
    const r = await run(list, RESPONDER, '');
    expect(r.blocks.length).toBeGreaterThan(2);
    expect(r.blocks.length).toBeLessThanOrEqual(50);
    for (const b of r.blocks) {
      const text = b && typeof b === 'object' && 'text' in b ? b.text : undefined;
      const mrkdwn = text && typeof text === 'object' && 'text' in text ? text.text : '';
      expect(String(mrkdwn).length).toBeLessThanOrEqual(3000);
    }
    expect(r.text.match(/`lck_many\d+`/g)).toHaveLength(48);
    expect(r.text).toMatch(/50\+ open lockdowns/);
    expect(r.text).toMatch(/Only the oldest 50 are listed/);
  });

  it('refuses users without lockdown:view and audits it', async () => {
    expect((await run(list, STRANGER, '')).text).toMatch(/You need the `lockdown:view` permission/);
    const denied = await h.db.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.actor, `slack:${STRANGER}`));
    expect(denied.some((d) => d.action === 'authz.denied')).toBe(true);
  });
});

describe('/hostlock history', () => {
  const HIST = hex40(900);
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000);

  beforeAll(async () => {
    const hosts = h.app.slackDeps.hosts;
    await hosts.upsertMachines(
      [
        machine(HIST, 'hist-01.contoso.com'),
        machine(hex40(901), 'twin-a.contoso.com'),
        machine(hex40(902), 'twin-b.contoso.com'),
      ],
      new Date(),
    );
    const base = { machineId: HIST, hostName: 'hist-01.contoso.com' };
    await h.db.db.insert(lockdowns).values([
      row({
        ...base,
        id: 'lck_h_manual',
        state: 'released',
        releaseReason: 'manual',
        releasedBy: `slack:${ADMIN2}`,
        approvedBy: `slack:${ADMIN2}`,
        reason: 'beacon <!here> & more',
        lockedAt: at(9),
        releasedAt: new Date(at(9).getTime() + 90 * 60_000),
        createdAt: at(9),
      }),
      row({
        ...base,
        id: 'lck_h_expire',
        state: 'released',
        releaseReason: 'expired',
        durationMinutes: 60,
        createdAt: at(8),
      }),
      row({
        ...base,
        id: 'lck_h_extern',
        state: 'released_externally',
        releaseReason: 'external',
        createdAt: at(7),
      }),
      row({ ...base, id: 'lck_h_denied', state: 'denied', approvedBy: `slack:${ADMIN}`, createdAt: at(6) }),
      row({
        ...base,
        id: 'lck_h_failed',
        state: 'failed',
        lastError: 'MDE refused isolation (403) <script>',
        requestedBy: 'api:tok_ci',
        createdAt: at(5),
      }),
      row({ ...base, id: 'lck_h_noone', state: 'approval_expired', createdAt: at(4) }),
    ]);
  });

  it("shows a host's lockdowns newest first, with who, why and how each ended", async () => {
    const r = await run(history, ANALYST, 'hist-01');
    expect(r.text).toContain(`*Lockdowns of \`hist-01.contoso.com\` (\`${HIST}\`)*`);
    const ids = [
      'lck_h_noone',
      'lck_h_failed',
      'lck_h_denied',
      'lck_h_extern',
      'lck_h_expire',
      'lck_h_manual',
    ];
    const positions = ids.map((id) => r.text.indexOf(id));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(r.text).toContain(`released early by <@${ADMIN2}>`);
    expect(r.text).toContain('isolated 90 min');
    expect(r.text).toContain('released when its time ran out');
    expect(r.text).toContain('released outside hostlock');
    expect(r.text).toContain(`denied by <@${ADMIN}>`);
    expect(r.text).toContain('failed: MDE refused isolation (403) &lt;script&gt;');
    expect(r.text).toContain('requested by `api:tok_ci`');
    expect(r.text).toContain('request expired: nobody decided in time');
    expect(r.text).toContain('Reason: beacon &lt;!here&gt; &amp; more');
    expect(r.text).toMatch(/<!date\^\d+\^/);
    expect(r.text).not.toContain('<!here>');
  });

  it('finds the history by machine id too', async () => {
    expect((await run(history, ANALYST, HIST.toUpperCase())).text).toContain('lck_h_manual');
  });

  it('finds the history of a machine id no longer in the inventory', async () => {
    const gone = hex40(903);
    await h.db.db.insert(lockdowns).values(
      row({
        id: 'lck_h_gone1',
        machineId: gone,
        hostName: 'retired-07',
        state: 'released',
        releaseReason: 'expired',
      }),
    );
    const r = await run(history, ANALYST, gone);
    expect(r.text).toContain(`*Lockdowns of \`retired-07\` (\`${gone}\`)*`);
    expect(r.text).toContain('lck_h_gone1');
    expect((await run(history, ANALYST, hex40(904))).text).toMatch(/No host or lockdown matches/);
  });

  it('lists the candidates with machine ids when several hosts match', async () => {
    const r = await run(history, ANALYST, 'twin');
    expect(r.text).toMatch(/2 hosts match `twin`/);
    expect(r.text).toContain(hex40(901));
    expect(r.text).toContain(hex40(902));
  });

  it('says a known host was never locked down', async () => {
    expect((await run(history, ANALYST, 'twin-a')).text).toMatch(
      /`twin-a.contoso.com` .* has never been locked down/,
    );
  });

  it('answers an unknown host or bad input with an example', async () => {
    expect((await run(history, ANALYST, 'nosuch-99')).text).toMatch(
      /No host matches `nosuch-99`\. Try `\/hostlock history web-01/,
    );
    expect((await run(history, ANALYST, '')).text).toMatch(/Tell me which host/);
    expect((await run(history, ANALYST, '<!channel>')).text).not.toContain('<!channel>');
  });

  it('refuses users without lockdown:view', async () => {
    const r = await run(history, STRANGER, 'hist-01');
    expect(r.text).toMatch(/You need the `lockdown:view` permission/);
    expect(r.text).not.toContain('lck_h_');
  });
});

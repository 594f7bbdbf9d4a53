import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, auditEvents } from '../../src/db/schema.js';
import type { Subcommand } from '../../src/slack/commands/registry.js';
import { tokenSubcommand } from '../../src/slack/commands/token.js';
import { bootHarness, type Harness, runSubcommand } from '../helpers/harness.js';
import { findActiveToken } from '../helpers/tokens.js';

// The subcommand is called directly (as the /hostlock router would), with real Postgres behind it.

const ADMIN = 'U0ADMIN001';
const RESPONDER = 'U0RESPOND1';
const ANALYST = 'U0ANALYST1';
const STRANGER = 'U0STRANGER';
const TOKEN_SHAPE = /hlk_[A-Za-z0-9_-]{43}/;
const tokensIn = (text: string) => text.match(new RegExp(TOKEN_SHAPE.source, 'g')) ?? [];

let h: Harness;
let token: Subcommand;

const run = (userId: string, text: string) => runSubcommand(token, userId, text);

/** Creates a token as ADMIN and returns the secret shown in the reply. */
async function create(text: string): Promise<string> {
  const r = await run(ADMIN, `create ${text}`);
  const shown = tokensIn(r.text);
  expect(shown).toHaveLength(1);
  return shown[0] ?? '';
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const rowsNamed = (name: string) => h.db.db.select().from(apiTokens).where(eq(apiTokens.name, name));
const auditOf = (action: string, actor = `slack:${ADMIN}`) =>
  h.db.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.actor, actor)));

/** Every row of every table in the test database, as text. */
async function everyRowAsText(): Promise<string> {
  const tables = await h.db.sql<{ name: string }[]>`
    select quote_ident(table_name) as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`;
  expect(tables.map((t) => t.name)).toContain('api_tokens');
  const out: string[] = [];
  for (const t of tables) {
    const rows = await h.db.sql.unsafe<{ row: string }[]>(`select t::text as row from ${t.name} t`);
    out.push(...rows.map((r) => `${t.name}: ${r.row}`));
  }
  return out.join('\n');
}

beforeAll(async () => {
  h = await bootHarness();
  token = tokenSubcommand(h.app.slackDeps);
  await h.grant('admin', ADMIN);
  await h.grant('responder', RESPONDER);
  await h.grant('analyst', ANALYST);
});
afterAll(() => h.close());

describe('/hostlock token create', () => {
  it('shows the token once in a code block and stores only its sha256', async () => {
    const r = await run(ADMIN, 'create CI-Pipeline lockdown:view,lockdown:edit');
    const [secret = ''] = tokensIn(r.text);
    expect(tokensIn(r.text)).toHaveLength(1);
    expect(secret).toMatch(/^hlk_/);
    expect(r.text).toContain(`\`\`\`${secret}\`\`\``);
    expect(r.text).toMatch(/will not be shown again/);
    expect(r.text).toContain('Authorization: Bearer &lt;token&gt;');
    expect(r.text).toContain('/api/v2.1/');
    expect(r.fallback).not.toContain(secret);

    const rows = await rowsNamed('ci-pipeline');
    expect(rows).toMatchObject([
      {
        tokenHash: sha256(secret),
        scopes: ['lockdown:view', 'lockdown:edit'],
        createdBy: `slack:${ADMIN}`,
        lastUsedAt: null,
        revokedAt: null,
      },
    ]);
    const row = rows[0];
    expect(row?.id).toMatch(/^tok_/);
    expect(JSON.stringify(rows)).not.toContain(secret);

    const audit = await auditOf('api_token.created');
    expect(audit).toMatchObject([
      {
        targetType: 'api_token',
        targetId: row?.id,
        outcome: 'ok',
        details: { name: 'ci-pipeline', scopes: ['lockdown:view', 'lockdown:edit'] },
      },
    ]);
    const details = await h.db.sql<{ details: string }[]>`select details::text as details from audit_events`;
    for (const d of details) {
      expect(d.details).not.toContain(secret);
      expect(d.details).not.toContain(sha256(secret));
    }
  });

  it('refuses a name already used by an active token, whatever its case, and changes nothing', async () => {
    await create('dup-name scores:write');
    const r = await run(ADMIN, 'create DUP-NAME lockdown:view');
    expect(r.text).toMatch(/already named `dup-name`; nothing changed/);
    expect(r.text).toContain('/hostlock token revoke dup-name');
    expect(r.text).not.toMatch(TOKEN_SHAPE);
    expect(await rowsNamed('dup-name')).toMatchObject([{ scopes: ['scores:write'] }]);
  });

  it('lets only one of two simultaneous creates of a name win', async () => {
    const results = await Promise.all([
      run(ADMIN, 'create racer lockdown:view'),
      run(ADMIN, 'create racer lockdown:edit'),
    ]);
    expect(results.filter((r) => tokensIn(r.text).length > 0)).toHaveLength(1);
    expect(await rowsNamed('racer')).toHaveLength(1);
  });

  it('answers an unknown scope with the valid ones and creates nothing', async () => {
    const r = await run(ADMIN, 'create bad-scope lockdown:view settings:edit');
    expect(r.text).toMatch(/`settings:edit` is not a scope/);
    expect(r.text).toContain('`lockdown:view`, `lockdown:edit`, `scores:write`');
    expect(await rowsNamed('bad-scope')).toEqual([]);
  });

  it('answers a missing scope with the valid ones', async () => {
    const r = await run(ADMIN, 'create no-scope');
    expect(r.text).toMatch(/at least one scope \(`lockdown:view`, `lockdown:edit`, `scores:write`\)/);
    expect(await rowsNamed('no-scope')).toEqual([]);
  });

  it.each([
    ['a leading dash', '-ci'],
    ['a slash', 'ci/x'],
    ['a mention', '<!channel>'],
    ['65 characters', 'a'.repeat(65)],
  ])('refuses a name with %s, escaped, saying what a name may be', async (_, name) => {
    const r = await run(ADMIN, `create ${name} lockdown:view`);
    expect(r.text).toMatch(/is not a valid token name: use 1–64 letters, digits/);
    expect(r.text).not.toContain('<!channel>');
    expect(r.text).not.toMatch(TOKEN_SHAPE);
  });

  it('asks for a name when none is given, and explains an unknown verb', async () => {
    expect((await run(ADMIN, 'create')).text).toMatch(/Name the token: `\/hostlock token create/);
    expect((await run(ADMIN, 'rotate ci')).text).toMatch(/`rotate` is not a token command/);
  });
});

describe('/hostlock token list', () => {
  it('shows each active token with its scopes, creator and use, and never a secret', async () => {
    const secret = await create('lister lockdown:view');
    const before = await run(ADMIN, '');
    expect(before.text).toMatch(
      /\*`lister`\* — `lockdown:view`\ncreated by <@U0ADMIN001> <!date\^\d+\^[^>]+> · never used/,
    );
    expect(before.text).toMatch(/\*`ci-pipeline`\* — `lockdown:view`, `lockdown:edit`/);
    expect(before.text).not.toMatch(TOKEN_SHAPE);
    expect(before.text).not.toContain(sha256(secret));

    await findActiveToken(h.app.store, secret);
    const after = await run(ADMIN, 'list');
    expect(after.text).toMatch(
      /\*`lister`\* — `lockdown:view`\ncreated by <@U0ADMIN001> .* · last used <!date\^/,
    );
  });
});

describe('/hostlock token revoke', () => {
  it('revokes by name, audits it, and the name can then be reused', async () => {
    const secret = await create('to-revoke scores:write');
    const [row] = await rowsNamed('to-revoke');
    const r = await run(ADMIN, 'revoke TO-REVOKE');
    expect(r.text).toMatch(/Revoked API token `to-revoke`/);
    expect(await rowsNamed('to-revoke')).toMatchObject([{ revokedAt: expect.any(Date) }]);
    expect(await auditOf('api_token.revoked')).toMatchObject([
      { targetId: row?.id, details: { name: 'to-revoke', scopes: ['scores:write'] } },
    ]);
    expect((await run(ADMIN, 'list')).text).not.toContain('to-revoke');
    expect(await findActiveToken(h.app.store, secret)).toBeNull();

    const again = await run(ADMIN, 'revoke to-revoke');
    expect(again.text).toMatch(/No active API token is named `to-revoke`; nothing changed/);
    expect(await auditOf('api_token.revoked')).toHaveLength(1);

    const replacement = await create('to-revoke lockdown:view');
    expect(replacement).not.toBe(secret);
    expect(await rowsNamed('to-revoke')).toHaveLength(2);
  });
});

describe.each([
  ['a responder', RESPONDER],
  ['an analyst', ANALYST],
  ['a user without a role', STRANGER],
])('%s', (_, userId) => {
  it.each([
    ['create', 'create sneaky lockdown:edit'],
    ['list', 'list'],
    ['revoke', 'revoke ci-pipeline'],
  ])('is refused token %s, changes nothing and the refusal is audited', async (verb, text) => {
    const r = await run(userId, text);
    expect(r.text).toMatch(/You need the `settings:edit` permission/);
    expect(r.text).not.toMatch(TOKEN_SHAPE);
    expect(r.text).not.toContain('ci-pipeline');
    expect(await rowsNamed('sneaky')).toEqual([]);
    expect(await rowsNamed('ci-pipeline')).toMatchObject([{ revokedAt: null }]);
    const denied = await auditOf('authz.denied', `slack:${userId}`);
    expect(denied.map((d) => d.details)).toContainEqual(
      expect.objectContaining({ permission: 'settings:edit', what: `token ${verb}` }),
    );
  });
});

describe('findActiveToken', () => {
  it('finds a created token by its hash, records its use, and forgets it once revoked', async () => {
    const secret = await create('finder lockdown:view scores:write');
    const [row] = await rowsNamed('finder');
    expect(row?.lastUsedAt).toBeNull();

    const found = await findActiveToken(h.app.store, secret);
    expect(found).toEqual({ id: row?.id, name: 'finder', scopes: ['lockdown:view', 'scores:write'] });
    const [used] = await rowsNamed('finder');
    expect(used?.lastUsedAt).toBeInstanceOf(Date);

    await run(ADMIN, 'revoke finder');
    expect(await findActiveToken(h.app.store, secret)).toBeNull();
  });

  it('finds nothing for an unknown, altered or hash-as-token value', async () => {
    const secret = await create('probe lockdown:view');
    expect(await findActiveToken(h.app.store, `hlk_${'A'.repeat(43)}`)).toBeNull();
    expect(await findActiveToken(h.app.store, secret.toUpperCase())).toBeNull();
    expect(await findActiveToken(h.app.store, sha256(secret))).toBeNull();
    expect(await findActiveToken(h.app.store, '')).toBeNull();
  });
});

describe('secrecy', () => {
  it('never writes a created token to the logs or to any table', async () => {
    const secret = await create('canary lockdown:edit');
    const body = secret.slice(4);
    expect(h.logs.join('\n')).toContain('api_token.created');
    expect(h.logs.join('\n')).not.toContain(body);

    const everything = await everyRowAsText();
    expect(everything).toContain('canary');
    expect(everything).not.toContain(body);
    const hashLines = everything.split('\n').filter((l) => l.includes(sha256(secret)));
    expect(hashLines).toHaveLength(1);
    expect(hashLines[0]).toMatch(/^api_tokens: /);
  });
});

import type { RespondArguments, types } from '@slack/bolt';
import {
  createToken,
  DEFAULT_TOKEN_DAYS,
  MAX_TOKEN_DAYS,
  TOKEN_PERMISSION,
} from '../../core/api-tokens/create-token.js';
import type { ApiTokenSummary } from '../../core/api-tokens/ports.js';
import { listTokens } from '../../core/api-tokens/queries.js';
import { revokeToken } from '../../core/api-tokens/revoke-token.js';
import {
  API_SCOPES,
  type ApiScope,
  isApiScope,
  isValidTokenName,
  TOKEN_NAME_MAX,
} from '../../core/api-tokens/tokens.js';
import { codeSafe, truncateMrkdwn, who } from '../../core/mrkdwn.js';
import { can } from '../../core/permissions.js';
import type { SlackActor } from '../actor.js';
import { refusalFor, refuse, type SlackDeps } from '../deps.js';
import type { CommandOutcome, Subcommand } from './registry.js';

const SCOPE_LIST = API_SCOPES.map((s) => `\`${s}\``).join(', ');
// `&lt;`/`&gt;`: a literal `<name>` would be read as a Slack control sequence.
const CREATE_USAGE = `\`/hostlock token create &lt;name&gt; &lt;scope…&gt; [--days &lt;1-${MAX_TOKEN_DAYS}&gt;]\`, e.g. \`/hostlock token create ci-pipeline lockdown:view lockdown:edit\` (valid ${DEFAULT_TOKEN_DAYS} days unless --days says otherwise)`;
const REVOKE_USAGE = '`/hostlock token revoke &lt;name&gt;`';
const NAME_RULE = `1–${TOKEN_NAME_MAX} letters, digits, \`.\`, \`_\` or \`-\`, starting with a letter or digit`;
/** Tokens listed one section each; Block Kit allows 50 blocks, two go to the heading and the hint. */
const LIST_MAX = 48;

const ephemeral = (text: string, blocks?: types.KnownBlock[]): RespondArguments => ({
  response_type: 'ephemeral',
  text,
  ...(blocks ? { blocks } : {}),
});

const shown = (typed: string, max = 40) => `\`${truncateMrkdwn(codeSafe(typed), max)}\``;
const scopeCodes = (scopes: readonly string[]) => scopes.map((s) => `\`${s}\``).join(', ');
const time = (d: Date) =>
  `<!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} {time}|${d.toISOString()}>`;

function listing(tokens: ApiTokenSummary[], now: Date): RespondArguments {
  const hint: types.KnownBlock = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Create one with ${CREATE_USAGE}; revoke with ${REVOKE_USAGE}.` }],
  };
  if (tokens.length === 0) {
    return ephemeral('No active API tokens.', [
      { type: 'section', text: { type: 'mrkdwn', text: 'No active API tokens.' } },
      hint,
    ]);
  }
  const more = tokens.length - LIST_MAX;
  const heading = `*${tokens.length} active API token${tokens.length === 1 ? '' : 's'}*${
    more > 0 ? ` (the first ${LIST_MAX} by name are listed)` : ''
  }`;
  return ephemeral(`${tokens.length} active API token${tokens.length === 1 ? '' : 's'}`, [
    { type: 'section', text: { type: 'mrkdwn', text: heading } },
    ...tokens.slice(0, LIST_MAX).map(
      (t): types.KnownBlock => ({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: [
            `*\`${codeSafe(t.name)}\`* — ${t.scopes.length > 0 ? scopeCodes(t.scopes) : '_no scopes_'}`,
            `created by ${who(t.createdBy)} ${time(t.createdAt)} · ${
              t.lastUsedAt ? `last used ${time(t.lastUsedAt)}` : 'never used'
            } · ${expiry(t.expiresAt, now)}`,
          ].join('\n'),
        },
      }),
    ),
    hint,
  ]);
}

/** The one time the secret is shown: in a code block, never in `text` (notifications, previews). */
/** `--days N` among the words after the name: the lifetime asked for, and the other words. */
function parseDays(words: readonly string[]): { days?: number | 'bad'; rest: string[] } {
  const at = words.findIndex((w) => w.toLowerCase() === '--days');
  if (at === -1) {
    return { rest: [...words] };
  }
  const n = words[at + 1] ?? '';
  const days = /^\d{1,4}$/.test(n) && Number(n) >= 1 && Number(n) <= MAX_TOKEN_DAYS ? Number(n) : 'bad';
  return { days, rest: [...words.slice(0, at), ...words.slice(at + 2)] };
}

/** "expires …", "expired …", or "never expires" for tokens made before tokens expired. */
function expiry(expiresAt: Date | null, now: Date): string {
  if (!expiresAt) {
    return 'never expires (made before tokens expired: replace it)';
  }
  return `${expiresAt.getTime() > now.getTime() ? 'expires' : '*expired*'} ${time(expiresAt)}`;
}

function created(
  name: string,
  scopes: readonly ApiScope[],
  token: string,
  expiresAt: Date,
): RespondArguments {
  const n = codeSafe(name);
  return ephemeral(`Created API token \`${n}\`. Copy it now: it will not be shown again.`, [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:key: Created API token \`${n}\` with ${scopeCodes(scopes)}, valid until ${time(expiresAt)} and while you keep \`settings:edit\`. *Copy it now: it will not be shown again.* hostlock keeps only its hash.`,
      },
    },
    { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${token}\`\`\`` } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Send it as \`Authorization: Bearer &lt;token&gt;\` to hostlock's \`/api/v2.1/…\` routes, e.g. \`curl -H 'Authorization: Bearer &lt;token&gt;' https://&lt;hostlock&gt;/api/v2.1/lockdown/host\`. Keep it in a secret store; if it leaks, \`/hostlock token revoke ${n}\`.`,
        },
      ],
    },
  ]);
}

/** Scopes as typed after the name, separated by spaces or commas, lower-cased and deduplicated. */
function parseScopes(words: readonly string[]): { scopes: ApiScope[]; unknown: string[] } {
  const typed = [
    ...new Set(
      words
        .join(' ')
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((s) => s.toLowerCase()),
    ),
  ];
  return { scopes: typed.filter(isApiScope), unknown: typed.filter((s) => !isApiScope(s)) };
}

/** `token revoke <name>`: one token, by its (lower-cased, valid) name. */
async function revoke(
  deps: SlackDeps,
  actor: SlackActor,
  name: string,
  extraWords: readonly string[],
): Promise<CommandOutcome> {
  if (extraWords.length > 0) {
    return { reply: ephemeral(`Revoke one token at a time: ${REVOKE_USAGE}.`) };
  }
  const r = await revokeToken(deps, { actor, name });
  deps.log.info({ userId: actor.userId, name, outcome: r.ok ? 'revoked' : r.error }, 'api_token.revoke');
  if (!r.ok && r.error === 'forbidden') {
    return { reply: ephemeral(await refusalFor(deps, actor, 'settings:edit')) };
  }
  return {
    reply: ephemeral(
      r.ok
        ? `Revoked API token \`${name}\`: requests using it are refused from now on.`
        : `No active API token is named \`${name}\`; nothing changed. See \`/hostlock token list\`.`,
    ),
  };
}

/** `token create <name> <scope…>`: the new token is in the reply and nowhere else. */
async function create(
  deps: SlackDeps,
  actor: SlackActor,
  name: string,
  scopeWords: readonly string[],
): Promise<CommandOutcome> {
  const lifetime = parseDays(scopeWords);
  if (lifetime.days === 'bad') {
    return { reply: ephemeral(`Give --days a whole number from 1 to ${MAX_TOKEN_DAYS}: ${CREATE_USAGE}.`) };
  }
  const { scopes, unknown } = parseScopes(lifetime.rest);
  if (unknown.length > 0) {
    const list = unknown.slice(0, 5).map((s) => shown(s));
    const what = unknown.length === 1 ? 'is not a scope' : 'are not scopes';
    return { reply: ephemeral(`${list.join(', ')} ${what}. Scopes are ${SCOPE_LIST}: ${CREATE_USAGE}.`) };
  }
  if (scopes.length === 0) {
    return { reply: ephemeral(`Give the token at least one scope (${SCOPE_LIST}): ${CREATE_USAGE}.`) };
  }
  const r = await createToken(deps, {
    actor,
    name,
    scopes,
    ...(lifetime.days !== undefined ? { days: lifetime.days } : {}),
  });
  if (!r.ok && r.error === 'forbidden') {
    return { reply: ephemeral(await refusalFor(deps, actor, 'settings:edit')) };
  }
  if (!r.ok && r.error !== 'name_taken') {
    return { reply: ephemeral(`Name the token with ${NAME_RULE} and give it a scope: ${CREATE_USAGE}.`) };
  }
  if (!r.ok) {
    return {
      reply: ephemeral(
        `An active API token is already named \`${name}\`; nothing changed. Pick another name, or revoke that one first with \`/hostlock token revoke ${name}\`.`,
      ),
    };
  }
  // The id, name and scopes only: the token itself must never reach a log line.
  deps.log.info({ userId: actor.userId, tokenId: r.value.id, name, scopes }, 'api_token.created');
  return { reply: created(name, scopes, r.value.token, r.value.expiresAt) };
}

/**
 * `/hostlock token [list] | create <name> <scope…> | revoke <name>`: REST API tokens, all three
 * needing `settings:edit` (DESIGN §3.3). A created token is shown once, in the ephemeral reply only;
 * it is never logged and only its hash is stored.
 */
export function tokenSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'token',
    needs: 'settings:edit',
    example: 'token create siem-feed scores:write',
    usage: 'token [list|create <name> <scope…>|revoke <name>]',
    summary: 'create, list and revoke REST API tokens',
    async run(ctx) {
      const [verbRaw = 'list', nameRaw = '', ...scopeWords] = ctx.args;
      const verb = verbRaw.toLowerCase();
      if (verb !== 'list' && verb !== 'create' && verb !== 'revoke') {
        return {
          reply: ephemeral(
            `${shown(verbRaw)} is not a token command. Use \`/hostlock token list\`, ${CREATE_USAGE}, or ${REVOKE_USAGE}.`,
          ),
        };
      }
      const actor = await deps.actors.resolve(ctx.userId);
      // refused (and audited) before anything typed is read back: no hints for who may not
      if (!can(actor, TOKEN_PERMISSION)) {
        return { reply: ephemeral(await refuse(deps, actor, TOKEN_PERMISSION, `token ${verb}`)) };
      }
      if (verb === 'list') {
        const r = await listTokens(deps, { actor });
        return {
          reply: r.ok
            ? listing(r.value, deps.clock.now())
            : ephemeral(await refusalFor(deps, actor, 'settings:edit')),
        };
      }

      const usage = verb === 'create' ? CREATE_USAGE : REVOKE_USAGE;
      if (!nameRaw) {
        return { reply: ephemeral(`Name the token: ${usage}.`) };
      }
      if (!isValidTokenName(nameRaw)) {
        return {
          reply: ephemeral(`${shown(nameRaw)} is not a valid token name: use ${NAME_RULE}. ${usage}.`),
        };
      }
      const name = nameRaw.toLowerCase();
      return verb === 'revoke'
        ? revoke(deps, actor, name, scopeWords)
        : create(deps, actor, name, scopeWords);
    },
  };
}

import type { RespondArguments, types } from '@slack/bolt';
import { createToken } from '../../core/api-tokens/create-token.js';
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
import type { SlackActor } from '../actor.js';
import { refusalText, type SlackDeps } from '../deps.js';
import type { CommandOutcome, Subcommand } from './registry.js';

const SCOPE_LIST = API_SCOPES.map((s) => `\`${s}\``).join(', ');
// `&lt;`/`&gt;`: a literal `<name>` would be read as a Slack control sequence.
const CREATE_USAGE =
  '`/hostlock token create &lt;name&gt; &lt;scope…&gt;`, e.g. `/hostlock token create ci-pipeline lockdown:view lockdown:edit`';
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

function listing(tokens: ApiTokenSummary[]): RespondArguments {
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
            }`,
          ].join('\n'),
        },
      }),
    ),
    hint,
  ]);
}

/** The one time the secret is shown: in a code block, never in `text` (notifications, previews). */
function created(name: string, scopes: readonly ApiScope[], token: string): RespondArguments {
  const n = codeSafe(name);
  return ephemeral(`Created API token \`${n}\`. Copy it now: it will not be shown again.`, [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:key: Created API token \`${n}\` with ${scopeCodes(scopes)}. *Copy it now: it will not be shown again.* hostlock keeps only its hash.`,
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
    return { reply: ephemeral(refusalText('settings:edit')) };
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
  const { scopes, unknown } = parseScopes(scopeWords);
  if (unknown.length > 0) {
    const list = unknown.slice(0, 5).map((s) => shown(s));
    const what = unknown.length === 1 ? 'is not a scope' : 'are not scopes';
    return { reply: ephemeral(`${list.join(', ')} ${what}. Scopes are ${SCOPE_LIST}: ${CREATE_USAGE}.`) };
  }
  if (scopes.length === 0) {
    return { reply: ephemeral(`Give the token at least one scope (${SCOPE_LIST}): ${CREATE_USAGE}.`) };
  }
  const r = await createToken(deps, { actor, name, scopes });
  if (!r.ok && r.error === 'forbidden') {
    return { reply: ephemeral(refusalText('settings:edit')) };
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
  return { reply: created(name, scopes, r.value.token) };
}

/**
 * `/hostlock token [list] | create <name> <scope…> | revoke <name>`: REST API tokens, all three
 * needing `settings:edit` (DESIGN §3.3). A created token is shown once, in the ephemeral reply only;
 * it is never logged and only its hash is stored.
 */
export function tokenSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'token',
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
      if (verb === 'list') {
        const r = await listTokens(deps, { actor });
        return { reply: r.ok ? listing(r.value) : ephemeral(refusalText('settings:edit')) };
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

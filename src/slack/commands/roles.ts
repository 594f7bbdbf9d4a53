import type { RespondArguments, types } from '@slack/bolt';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
import { can, isRole, ROLES, type Role } from '../../core/permissions.js';
import { grantRole, ROLES_PERMISSION } from '../../core/roles/grant-role.js';
import type { RoleBinding } from '../../core/roles/ports.js';
import { listRoles } from '../../core/roles/queries.js';
import { revokeRole } from '../../core/roles/revoke-role.js';
import { refusalFor, refuse, type SlackDeps } from '../deps.js';
import type { Subcommand } from './registry.js';

/** Who a role can be bound to: a Slack user (`U…`/`W…`) or a user group (`S…`). */
export interface Subject {
  type: 'user' | 'usergroup';
  id: string;
}

const ID = '[A-Z0-9]{2,20}';
const USER_MENTION = new RegExp(`^<@([UW]${ID})(?:\\|[^>]*)?>$`);
const GROUP_MENTION = new RegExp(`^<!subteam\\^(S${ID})(?:\\|[^>]*)?>$`);
const BARE = new RegExp(`^([UWS]${ID})$`);

/**
 * Reads one subject as Slack sends it with `should_escape: true` (`<@U123|alice>`, `<@U123>`,
 * `<!subteam^S123|@oncall>`, `<!subteam^S123>`) or as a bare id (`U123`, `W123`, `S123`).
 * Returns null for anything else, e.g. an unescaped `@alice`, which names no id.
 */
export function parseSubject(text: string): Subject | null {
  const t = text.trim();
  const user = USER_MENTION.exec(t)?.[1];
  if (user) {
    return { type: 'user', id: user };
  }
  const group = GROUP_MENTION.exec(t)?.[1];
  if (group) {
    return { type: 'usergroup', id: group };
  }
  const bare = BARE.exec(t.toUpperCase())?.[1];
  if (bare) {
    return { type: bare.startsWith('S') ? 'usergroup' : 'user', id: bare };
  }
  return null;
}

/** A subject as mrkdwn: ids are validated, so the mention cannot carry anything else. */
const mention = (s: Pick<RoleBinding, 'subjectType' | 'subjectId'>): string =>
  s.subjectType === 'usergroup' ? `<!subteam^${s.subjectId}>` : `<@${s.subjectId}>`;

const ROLE_NAMES = Object.keys(ROLES) as Role[];
const ROLE_LIST = ROLE_NAMES.map((r) => `\`${r}\``).join(', ');
// `&lt;`/`&gt;`: a literal `<@user|…>` would be read as a mention, even inside a code span.
const USAGE =
  '`/hostlock roles grant &lt;role&gt; &lt;@user|@group&gt;`, e.g. `/hostlock roles grant responder @alice`';
const REVOKE_USAGE = '`/hostlock roles revoke &lt;role&gt; &lt;@user|@group&gt;`';

const ephemeral = (text: string, blocks?: types.KnownBlock[]): RespondArguments => ({
  response_type: 'ephemeral',
  text,
  ...(blocks ? { blocks } : {}),
});

const SECTION_MAX = 3000;

/** Mentions joined until a section would pass Block Kit's limit, then "and N more". */
function mentions(bound: RoleBinding[]): string {
  const shown: string[] = [];
  let length = 0;
  for (const b of bound) {
    const m = mention(b);
    if (length + m.length > SECTION_MAX - 100) {
      break;
    }
    shown.push(m);
    length += m.length + 2;
  }
  const more = bound.length - shown.length;
  return shown.length === 0 ? '_nobody_' : `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** One section per role with its users and groups, then the role → permission table. */
function listing(bindings: RoleBinding[]): RespondArguments {
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: '*Role bindings*' } },
    ...ROLE_NAMES.map(
      (role): types.KnownBlock => ({
        type: 'section',
        text: { type: 'mrkdwn', text: `*${role}*: ${mentions(bindings.filter((b) => b.role === role))}` },
      }),
    ),
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          '*What each role may do*',
          ...ROLE_NAMES.map((role) => `*${role}*: ${ROLES[role].map((p) => `\`${p}\``).join(', ')}`),
        ].join('\n'),
      },
    },
  ];
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Change with ${USAGE} or ${REVOKE_USAGE}.` }],
  });
  return ephemeral(`Role bindings: ${bindings.length}`, blocks);
}

/**
 * `/hostlock roles [list] | grant <role> <@user|@group> | revoke <role> <@user|@group>`: listing
 * needs `settings:view`, changes need `settings:edit`. The last `admin` binding cannot be revoked.
 */
export function rolesSubcommand(deps: SlackDeps): Subcommand {
  return {
    name: 'roles',
    needs: 'settings:view',
    example: 'roles grant responder @alice',
    usage: 'roles [list|grant <role> <@user|@group>|revoke <role> <@user|@group>]',
    summary: 'show who holds which role, or grant and revoke roles',
    async run(ctx) {
      const actor = await deps.actors.resolve(ctx.userId);
      const [verbRaw = 'list', roleRaw = ''] = ctx.args;
      const verb = verbRaw.toLowerCase();
      if (verb === 'list') {
        const r = await listRoles(deps, { actor });
        return {
          reply: r.ok ? listing(r.value) : ephemeral(await refusalFor(deps, actor, 'settings:view')),
        };
      }
      if (verb !== 'grant' && verb !== 'revoke') {
        const shown = truncateMrkdwn(codeSafe(verbRaw), 40);
        return {
          reply: ephemeral(
            `\`${shown}\` is not a roles command. Use \`/hostlock roles\`, ${USAGE}, or ${REVOKE_USAGE}.`,
          ),
        };
      }
      // refused (and audited) before anything typed is read back: no hints for who may not
      if (!can(actor, ROLES_PERMISSION)) {
        return { reply: ephemeral(await refuse(deps, actor, ROLES_PERMISSION, `roles ${verb}`)) };
      }
      const role = roleRaw.toLowerCase();
      if (!isRole(role)) {
        const shown = roleRaw ? `\`${truncateMrkdwn(codeSafe(roleRaw), 40)}\` is not a role. ` : '';
        return { reply: ephemeral(`${shown}Roles are ${ROLE_LIST}: ${USAGE}.`) };
      }
      // The subject is everything after the role, so a mention label with spaces still parses.
      const subjectText = ctx.rest.replace(/^\S+\s+\S+/, '').trim();
      const subject = parseSubject(subjectText);
      if (!subject) {
        const shown = subjectText
          ? `\`${truncateMrkdwn(codeSafe(subjectText), 60)}\` is not a user or group. `
          : '';
        return {
          reply: ephemeral(
            `${shown}Mention one user or user group (pick it from Slack's autocomplete) or give its id (\`U…\`, \`S…\`): ${USAGE}.`,
          ),
        };
      }
      const binding: RoleBinding = { role, subjectType: subject.type, subjectId: subject.id };
      const who = mention(binding);
      if (verb === 'grant') {
        const r = await grantRole(deps, { actor, binding });
        deps.log.info(
          { userId: actor.userId, role, subject, outcome: r.ok ? r.value : r.error },
          'role.grant',
        );
        if (!r.ok) {
          return { reply: ephemeral(await refusalFor(deps, actor, 'settings:edit')) };
        }
        return {
          reply: ephemeral(
            r.value === 'granted'
              ? `${who} now has the \`${role}\` role.`
              : `${who} already had the \`${role}\` role; nothing changed.`,
          ),
        };
      }
      const r = await revokeRole(deps, { actor, binding });
      deps.log.info(
        { userId: actor.userId, role, subject, outcome: r.ok ? r.value : r.error },
        'role.revoke',
      );
      const replies = {
        revoked: `${who} no longer has the \`${role}\` role.`,
        unchanged: `${who} did not have the \`${role}\` role; nothing changed.`,
        last_admin: `${who} holds the last \`admin\` binding; revoking it would leave nobody able to manage hostlock. Grant \`admin\` to someone else first.`,
        forbidden: await refusalFor(deps, actor, 'settings:edit'),
      };
      return { reply: ephemeral(replies[r.ok ? r.value : r.error]) };
    },
  };
}

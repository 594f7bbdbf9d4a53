import type { RespondArguments } from '@slack/bolt';
import type { Permission } from '../../core/permissions.js';
import type { Subcommand } from './registry.js';

/**
 * Ephemeral usage for `/hostlock help` and an empty `/hostlock`. With the caller's permissions
 * (issue #16, item 9) it shows what they may use, each with one example, and names the rest as
 * needing a role they do not have; without them, every subcommand.
 */
export function helpMessage(
  command: string,
  subcommands: readonly Subcommand[],
  lead?: string,
  permissions?: ReadonlySet<Permission>,
): RespondArguments {
  const line = (s: Subcommand) =>
    `• \`${command} ${s.usage}\` — ${s.summary}${s.example ? ` (e.g. \`${command} ${s.example}\`)` : ''}`;
  const allowed = subcommands.filter((s) => !permissions || !s.needs || permissions.has(s.needs));
  const others = permissions ? subcommands.filter((s) => s.needs && !permissions.has(s.needs)) : [];
  const text = [
    lead ??
      '*hostlock* looks up hosts in Microsoft Defender for Endpoint and locks them down for a set time.',
    '',
    permissions ? '*What you can do*' : '*Usage*',
    ...allowed.map(line),
    ...(others.length
      ? ['', `*Needs a role you do not have*: ${others.map((s) => `\`${s.name}\` (${s.needs})`).join(', ')}`]
      : []),
  ].join('\n');
  return {
    response_type: 'ephemeral',
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}

export function helpSubcommand(
  command: string,
  all: () => readonly Subcommand[],
  permissionsOf?: (userId: string) => Promise<ReadonlySet<Permission>>,
): Subcommand {
  return {
    name: 'help',
    usage: 'help',
    summary: 'show this help',
    run: async (ctx) => ({
      reply: helpMessage(command, all(), undefined, await permissionsOf?.(ctx.userId)),
    }),
  };
}

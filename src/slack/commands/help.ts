import type { RespondArguments } from '@slack/bolt';
import type { Subcommand } from './registry.js';

/** Ephemeral usage for `/hostlock help` and an empty `/hostlock`, listing every registered subcommand. */
export function helpMessage(
  command: string,
  subcommands: readonly Subcommand[],
  lead?: string,
): RespondArguments {
  const lines = subcommands.map((s) => `• \`${command} ${s.usage}\` — ${s.summary}`);
  const text = [
    lead ??
      '*hostlock* looks up hosts in Microsoft Defender for Endpoint and locks them down for a set time.',
    '',
    '*Usage*',
    ...lines,
  ].join('\n');
  return {
    response_type: 'ephemeral',
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}

export function helpSubcommand(command: string, all: () => readonly Subcommand[]): Subcommand {
  return {
    name: 'help',
    usage: 'help',
    summary: 'show this help',
    run: async () => ({ reply: helpMessage(command, all()) }),
  };
}

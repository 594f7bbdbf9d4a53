import type { RespondArguments } from '@slack/bolt';

/** What a subcommand handler sees: the parsed command, never Bolt's raw payload. */
export interface CommandContext {
  userId: string;
  channelId: string;
  teamId: string;
  /** the words after the subcommand name */
  args: string[];
  /** the text after the subcommand name, as typed */
  rest: string;
}

/** One `/hostlock <name> …` subcommand; help is built from these, so it never lists what does not exist. */
export interface Subcommand {
  name: string;
  usage: string;
  summary: string;
  run(ctx: CommandContext): Promise<RespondArguments>;
}

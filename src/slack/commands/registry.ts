import type { RespondArguments } from '@slack/bolt';
import type { Permission } from '../../core/permissions.js';

/** What a subcommand handler sees: the parsed command, never Bolt's raw payload. */
export interface CommandContext {
  userId: string;
  channelId: string;
  teamId: string;
  /** the words after the subcommand name */
  args: string[];
  /** the text after the subcommand name, as typed */
  rest: string;
  /** Slack's trigger for opening a modal (valid 3 s, once) */
  triggerId?: string;
}

/**
 * What a subcommand answers: `reply` goes in the ack (within Slack's 3 s); slow work (asking
 * Defender) goes in `followUp`, whose answer replaces the reply through response_url.
 */
export interface CommandOutcome {
  reply: RespondArguments;
  followUp?: () => Promise<RespondArguments>;
}

/** One `/hostlock <name> …` subcommand; help is built from these, so it never lists what does not exist. */
export interface Subcommand {
  name: string;
  usage: string;
  summary: string;
  /** the permission it needs; none: anyone (help lists it for everyone) */
  needs?: Permission;
  /** one example, as typed after `/hostlock ` */
  example?: string;
  run(ctx: CommandContext): Promise<CommandOutcome>;
}

import type { App, RespondArguments } from '@slack/bolt';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
import type { Permission } from '../../core/permissions.js';
import { createRateLimiter } from '../../core/rate-limit.js';
import type { Logger } from '../../log.js';
import { helpMessage, helpSubcommand } from './help.js';
import type { CommandOutcome, Subcommand } from './registry.js';

export const COMMAND = '/hostlock';
/** Longer input is refused before parsing: no hostlock subcommand needs more. */
export const MAX_COMMAND_TEXT = 2_000;

/** Tab and newline are ordinary whitespace in typed text; every other C0 control (and DEL) is refused. */
function hasControlCharacters(text: string): boolean {
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) {
      return true;
    }
  }
  return false;
}

const ephemeral = (text: string): RespondArguments => ({ response_type: 'ephemeral', text });

/**
 * Routes `/hostlock <subcommand> …`. Each subcommand answers in the ack (within Slack's 3 s),
 * ephemerally unless it says otherwise; unknown or malformed input gets a hint and changes nothing.
 */
/** Slash commands a user may send a minute (bursts up to it): no one can flood hostlock or its audit. */
export const COMMANDS_PER_MINUTE = 30;

export function registerHostlockCommand(
  app: App,
  log: Logger,
  subcommands: Subcommand[] = [],
  perMinute = COMMANDS_PER_MINUTE,
  permissionsOf?: (userId: string) => Promise<ReadonlySet<Permission>>,
  /** told of each subcommand received ('unknown' for one that does not exist), for metrics */
  onCommand?: (name: string) => void,
): void {
  const limiter = createRateLimiter({ perMinute });
  const all: Subcommand[] = [];
  all.push(
    helpSubcommand(COMMAND, () => all, permissionsOf),
    ...subcommands,
  );
  const byName = new Map(all.map((s) => [s.name, s]));

  app.command(COMMAND, async ({ command, ack, respond }) => {
    const text = command.text ?? '';
    if (text.length > MAX_COMMAND_TEXT) {
      await ack(
        ephemeral(
          `That is too long (${text.length} characters; at most ${MAX_COMMAND_TEXT}). Try \`${COMMAND} help\`.`,
        ),
      );
      return;
    }
    if (hasControlCharacters(text)) {
      await ack(
        ephemeral(
          `That contains control characters. Type the command as plain text; see \`${COMMAND} help\`.`,
        ),
      );
      return;
    }
    const waitMs = limiter.take(command.user_id);
    if (waitMs > 0) {
      await ack(
        ephemeral(
          `You are sending commands faster than hostlock takes them (${perMinute} a minute). Try again in ${Math.ceil(waitMs / 1000)} s.`,
        ),
      );
      return;
    }
    const trimmed = text.trim();
    const [first = '', ...args] = trimmed.split(/\s+/).filter(Boolean);
    const name = first.toLowerCase();
    if (name === '') {
      await ack(helpMessage(COMMAND, all, undefined, await permissionsOf?.(command.user_id)));
      return;
    }
    const sub = byName.get(name);
    onCommand?.(sub ? sub.name : 'unknown');
    if (!sub) {
      const shown = truncateMrkdwn(codeSafe(first), 40);
      await ack(helpMessage(COMMAND, all, `Unknown subcommand \`${shown}\`.`));
      return;
    }
    const rest = trimmed.slice(first.length).trim();
    const reqLog = log.child({ command: sub.name, userId: command.user_id, channelId: command.channel_id });
    let outcome: CommandOutcome;
    try {
      outcome = await sub.run({
        userId: command.user_id,
        channelId: command.channel_id,
        teamId: command.team_id,
        args,
        rest,
        triggerId: command.trigger_id,
      });
    } catch (e) {
      reqLog.error({ err: e }, 'slack.command_failed');
      await ack(
        ephemeral(
          `hostlock could not run \`${COMMAND} ${sub.name}\` just now; it has been logged. Try again in a minute.`,
        ),
      );
      return;
    }
    await ack(outcome.reply);
    if (outcome.followUp) {
      try {
        await respond({ ...(await outcome.followUp()), replace_original: true });
      } catch (e) {
        reqLog.error({ err: e }, 'slack.command_follow_up_failed');
        await respond(
          ephemeral(`hostlock could not finish \`${COMMAND} ${sub.name}\`; it has been logged.`),
        ).catch(() => {});
      }
    }
  });
}

import type { App, RespondArguments, types } from '@slack/bolt';
import {
  CANDIDATES_MAX,
  hostCandidates,
  isHostLike,
  messageText,
  namedBy,
} from '../../core/hosts/message-hosts.js';
import type { Host } from '../../core/hosts/types.js';
import { codeSafe, truncateMrkdwn } from '../../core/mrkdwn.js';
import { hostList } from '../blocks/host-card.js';
import type { SlackDeps } from '../deps.js';
import { ShortcutId } from '../ids.js';
import { admitShortcut, type PersonRate } from './rate.js';

/** Unknown candidates named in the answer, at most. */
const UNKNOWN_SHOWN = 20;

const ephemeral = (text: string, blocks?: types.KnownBlock[]): RespondArguments => ({
  response_type: 'ephemeral',
  text,
  ...(blocks ? { blocks } : {}),
});

/** The hosts a message names that the inventory knows, by machine id, and the candidates it does not know. */
export async function hostsInMessage(
  deps: SlackDeps,
  message: unknown,
): Promise<{
  known: Map<string, Host>;
  /** hosts a host-like candidate names alone (one current record): what a lock may pre-select */
  sure: Set<string>;
  unknown: string[];
  more: number;
  none: boolean;
}> {
  const { queries, more } = hostCandidates(messageText(message));
  const known = new Map<string, Host>();
  const sure = new Set<string>();
  const unknown: string[] = [];
  if (queries.length === 0) {
    return { known, sure, unknown, more, none: true };
  }
  const answers = await deps.hosts.searchMany(queries, 10);
  for (const [i, q] of queries.entries()) {
    const named = (answers[i]?.hosts ?? []).filter((h) => namedBy(h, q));
    for (const h of named) {
      known.set(h.machineId, h);
    }
    const current = named.filter((h) => !h.mergedIntoMachineId && !h.goneAt);
    if (isHostLike(q) && current.length === 1 && current[0]) {
      sure.add(current[0].machineId);
    }
    if (named.length === 0 && isHostLike(q)) {
      unknown.push(q.value); // plain words that name no host are not worth a mention
    }
  }
  return { known, sure, unknown, more, none: false };
}

/**
 * "Look up hosts in this message" (issue #18, item 1), on any message, a bot's alert with
 * attachments included: the hosts its text names that the inventory knows, as a list only the
 * person sees; the candidates it does not know, named; a message naming more than
 * CANDIDATES_MAX says how many were not looked at. Never asks Defender.
 */
export function registerLookupMessage(app: App, deps: SlackDeps, rate: PersonRate): void {
  app.shortcut(
    { callback_id: ShortcutId.lookupMessage, type: 'message_action' },
    async ({ shortcut, ack, respond }) => {
      await ack();
      const opts = {
        userId: shortcut.user.id,
        needs: 'lockdown:view',
        what: 'lookup_message',
        respond,
      } as const;
      if (!(await admitShortcut(deps, rate, opts))) {
        return;
      }
      const { known, unknown, more, none } = await hostsInMessage(deps, shortcut.message);
      if (none) {
        await respond(ephemeral('That message names no host, IP address or Defender machine id.'));
        return;
      }
      const notes: string[] = [];
      if (unknown.length) {
        const shown = unknown.slice(0, UNKNOWN_SHOWN).map((u) => `\`${truncateMrkdwn(codeSafe(u), 80)}\``);
        const rest = unknown.length > UNKNOWN_SHOWN ? ` and ${unknown.length - UNKNOWN_SHOWN} more` : '';
        notes.push(`Not in the inventory: ${shown.join(', ')}${rest}.`);
      }
      if (more) {
        notes.push(`${more} more candidates were not looked at (at most ${CANDIDATES_MAX} a message).`);
      }
      const context: types.KnownBlock[] = notes.length
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: truncateMrkdwn(notes.join('\n'), 2900) }] }]
        : [];
      if (known.size === 0) {
        await respond(ephemeral(`No host named in that message is in the inventory.\n${notes.join('\n')}`));
        return;
      }
      const hosts = [...known.values()];
      const heading = `*${hosts.length === 1 ? '1 host' : `${hosts.length} hosts`} named in that message.* To see one, use its machine id: \`/hostlock lookup &lt;machine id&gt;\``;
      await respond(
        ephemeral(`${hosts.length} hosts named in that message`, [
          ...hostList({ hosts, total: hosts.length, query: '', now: deps.clock.now(), heading }),
          ...context,
        ]),
      );
    },
  );
}

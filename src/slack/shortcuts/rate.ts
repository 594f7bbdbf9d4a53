import type { RespondFn } from '@slack/bolt';
import type { Permission } from '../../core/permissions.js';
import { can } from '../../core/permissions.js';
import type { SlackActor } from '../actor.js';
import { COMMANDS_PER_MINUTE } from '../commands/hostlock.js';
import { refuse, type SlackDeps } from '../deps.js';

/** The per-person rate the message shortcuts and the workflow step share (core/rate-limit.ts): `take` answers how long to wait. */
export interface PersonRate {
  take(key: string): number;
}

/**
 * What every message shortcut does first: the person's rate, then the permission at this moment.
 * Answers the person (ephemerally) and returns null when either refuses.
 */
export async function admitShortcut(
  deps: SlackDeps,
  rate: PersonRate,
  o: { userId: string; needs: Permission; what: string; respond: RespondFn },
): Promise<SlackActor | null> {
  const waitMs = rate.take(o.userId);
  if (waitMs > 0) {
    await o.respond({
      response_type: 'ephemeral',
      text: `You are using shortcuts faster than hostlock takes them (${COMMANDS_PER_MINUTE} a minute). Try again in ${Math.ceil(waitMs / 1000)} s.`,
    });
    return null;
  }
  const actor = await deps.actors.resolve(o.userId);
  if (!can(actor, o.needs)) {
    await o.respond({ response_type: 'ephemeral', text: await refuse(deps, actor, o.needs, o.what) });
    return null;
  }
  return actor;
}

import type { Clock } from '../core/clock.js';
import type { Defender, DefenderPurpose } from '../core/defender.js';
import type { LookupGuard } from '../core/hosts/lookup-host.js';
import type { DefenderUnavailable, HostStore } from '../core/hosts/ports.js';
import type { LockdownDeps } from '../core/lockdown/ports.js';
import type { Permission } from '../core/permissions.js';
import type { RoleBinding } from '../core/roles/ports.js';
import { recordDenial } from '../core/roles/record-denial.js';
import type { Settings } from '../core/settings/settings.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../log.js';
import type { ActorResolver, SlackActor } from './actor.js';

/** What Slack listeners need: core's ports, assembled once in hostlock.ts. */
export interface SlackDeps {
  actors: ActorResolver;
  /** every role binding, as the actor resolver reads them (the per-process cache in production) */
  roleBindings: () => Promise<RoleBinding[]>;
  hosts: HostStore;
  defender: (opts?: { purpose?: DefenderPurpose }) => Promise<Defender | DefenderUnavailable>;
  settings: () => Promise<Settings>;
  /** the verbs' store (roles, tokens, settings, audit, outbox) */
  store: Store;
  /** per-person lookup quota and negative cache: lookups cannot spend the budget releases need */
  lookupGuard: LookupGuard;
  /** Defender portal page of a machine */
  portalUrl: (machineId: string) => string;
  clock: Clock;
  log: Logger;
  /** the lockdown use cases' ports (store, Defender, announcer, timers) */
  lockdown: LockdownDeps;
}

const WHY: Record<Permission, string> = {
  'settings:view': 'view settings',
  'settings:edit': 'change settings',
  'lockdown:view': 'look up hosts and lockdowns',
  'lockdown:edit': 'lock and unlock hosts',
  'lockdown:approve': 'approve lockdowns',
};

/** What a user lacking `permission` is told: what they lack (whom to ask: {@link whoToAsk}). */
export function refusalText(permission: Permission): string {
  return `You need the \`${permission}\` permission to ${WHY[permission]}.`;
}

/**
 * A refused permission check in a Slack query (lookup, list, history, settings): audited through
 * core, logged, and answered with {@link refusalText}. Verbs audit their own refusals.
 */
export async function refuse(
  deps: SlackDeps,
  actor: SlackActor,
  permission: Permission,
  what: string,
): Promise<string> {
  await recordDenial(deps.store, { actor, permission, what, details: { roles: actor.roles } });
  deps.log.warn({ userId: actor.userId, permission, what }, 'authz.denied');
  return refusalFor(deps, actor, permission);
}

/** {@link refusalText} and whom to ask: what every refused person is told (verbs audit their own refusals). */
export async function refusalFor(
  deps: Pick<SlackDeps, 'roleBindings'>,
  actor: Pick<SlackActor, 'permissions'>,
  permission: Permission,
): Promise<string> {
  return `${refusalText(permission)} ${await whoToAsk(deps, actor)}`;
}

const ADMINS_NAMED = 5;

/**
 * Whom a refused person can ask (issue #16, item 9): the admins by mention, so someone with no role
 * is not pointed at a command that would refuse them too; on a fresh install, what the operator
 * must do.
 */
export async function whoToAsk(
  deps: Pick<SlackDeps, 'roleBindings'>,
  actor: Pick<SlackActor, 'permissions'>,
): Promise<string> {
  const admins = (await deps.roleBindings()).filter((b) => b.role === 'admin');
  if (admins.length === 0) {
    return 'hostlock has no admin yet: whoever runs it sets `HOSTLOCK_ADMINS` to their Slack user id and restarts it.';
  }
  const named = admins
    .slice(0, ADMINS_NAMED)
    .map((b) => (b.subjectType === 'user' ? `<@${b.subjectId}>` : `<!subteam^${b.subjectId}>`))
    .join(', ');
  const more = admins.length > ADMINS_NAMED ? ` and ${admins.length - ADMINS_NAMED} more` : '';
  const lead = actor.permissions.size === 0 ? 'You have no hostlock role yet. ' : '';
  return `${lead}hostlock's admins: ${named}${more}; ask one of them to grant you a role (\`analyst\` to look up, \`responder\` to lock and approve).`;
}

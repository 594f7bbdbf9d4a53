import type { Clock } from '../core/clock.js';
import type { Defender } from '../core/defender.js';
import type { DefenderUnavailable, HostStore } from '../core/hosts/ports.js';
import type { LockdownDeps } from '../core/lockdown/ports.js';
import type { Permission } from '../core/permissions.js';
import type { Settings } from '../core/settings.js';
import type { Database } from '../db/client.js';
import type { AuditEntry } from '../db/repos/audit.js';
import type { Logger } from '../log.js';
import type { ActorResolver, SlackActor } from './actor.js';

/** What Slack listeners need: ports and adapters, assembled once in main.ts. */
export interface SlackDeps {
  actors: ActorResolver;
  hosts: HostStore;
  defender: () => Promise<Defender | DefenderUnavailable>;
  settings: () => Promise<Settings>;
  audit: (e: AuditEntry) => Promise<void>;
  /** Defender portal page of a machine */
  portalUrl: (machineId: string) => string;
  clock: Clock;
  log: Logger;
  /** the lockdown use cases' ports (store, Defender, announcer, timers) */
  lockdown: LockdownDeps;
  /** the database, for the role commands' writes (role_bindings + audit in one transaction) */
  db: Database;
}

const WHY: Record<Permission, string> = {
  'settings:view': 'view settings',
  'settings:edit': 'change settings',
  'lockdown:view': 'look up hosts and lockdowns',
  'lockdown:edit': 'lock and unlock hosts',
  'lockdown:approve': 'approve lockdowns',
};

/**
 * A refused permission check: audited, and answered with what the user lacks and whom to ask.
 * Returns the sentence for an ephemeral reply.
 */
export async function refuse(
  deps: SlackDeps,
  actor: SlackActor,
  permission: Permission,
  what: string,
): Promise<string> {
  await deps.audit({
    actor: `slack:${actor.userId}`,
    action: 'authz.denied',
    outcome: 'denied',
    details: { permission, what, roles: actor.roles },
  });
  deps.log.warn({ userId: actor.userId, permission, what }, 'authz.denied');
  return `You need the \`${permission}\` permission to ${WHY[permission]}. Ask a hostlock admin to grant you a role (\`/hostlock roles\`).`;
}

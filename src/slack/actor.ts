import type { webApi } from '@slack/bolt';
import { type Actor, permissionsOf } from '../core/permissions.js';
import type { RoleBinding } from '../core/roles/ports.js';
import type { Logger } from '../log.js';

export type SlackActor = Extract<Actor, { kind: 'slack' }> & { roles: string[] };

export interface ActorResolverOptions {
  bindings: () => Promise<RoleBinding[]>;
  client: webApi.WebClient;
  log: Logger;
  /** user-group membership is cached at most this long (DESIGN §3.4: ≤ 60 s) */
  groupTtlMs?: number;
  now?: () => number;
}

/**
 * Turns a Slack user id into an actor with the permissions of its roles, evaluated now: bindings
 * come from `bindings` on every call (in production a per-process cache that every change drops,
 * ≤ 1 s in every replica); user-group membership comes from `usergroups.users.list`, cached ≤ 60 s.
 * A group that cannot be read (free plan: plan_upgrade_required, or any error) grants nothing:
 * failures close, user bindings still work.
 */
export function createActorResolver(opts: ActorResolverOptions) {
  const ttl = opts.groupTtlMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const groups = new Map<string, { members: ReadonlySet<string>; at: number }>();
  let warnedPlan = false;

  async function members(groupId: string): Promise<ReadonlySet<string>> {
    const cached = groups.get(groupId);
    if (cached && now() - cached.at < ttl) {
      return cached.members;
    }
    let set: ReadonlySet<string> = new Set();
    try {
      const r = await opts.client.usergroups.users.list({ usergroup: groupId });
      set = new Set(r.users ?? []);
    } catch (e) {
      const code = (e as { data?: { error?: string } }).data?.error;
      if (code === 'plan_upgrade_required') {
        if (!warnedPlan) {
          opts.log.warn({ groupId }, 'roles.usergroups_unavailable_on_plan');
          warnedPlan = true;
        }
      } else {
        opts.log.error({ err: e, groupId }, 'roles.usergroup_read_failed');
      }
    }
    groups.set(groupId, { members: set, at: now() });
    if (groups.size > 1_000) {
      groups.delete(groups.keys().next().value as string);
    }
    return set;
  }

  return {
    async resolve(userId: string): Promise<SlackActor> {
      const roles = new Set<string>();
      for (const b of await opts.bindings()) {
        if (b.subjectType === 'user' ? b.subjectId === userId : (await members(b.subjectId)).has(userId)) {
          roles.add(b.role);
        }
      }
      return { kind: 'slack', userId, permissions: permissionsOf(roles), roles: [...roles].sort() };
    },
  };
}
export type ActorResolver = ReturnType<typeof createActorResolver>;

import type { App } from '@slack/bolt';
import { can } from '../../core/permissions.js';
import { homeView } from '../blocks/home.js';
import { type SlackDeps, whoToAsk } from '../deps.js';

const HOME_HOSTS = 40;

/**
 * App Home: the user's own permissions and, for those who may view lockdowns, the isolated hosts.
 * Re-published on every visit (Events API retries included: publishing is idempotent).
 */
export function registerAppHomeOpened(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') {
      return;
    }
    const actor = await deps.actors.resolve(event.user);
    let isolated: Parameters<typeof homeView>[0]['isolated'] = [];
    let total = 0;
    if (can(actor, 'lockdown:view')) {
      const found = await deps.hosts.isolated(HOME_HOSTS);
      const open = await deps.hosts.openLockdowns(found.hosts.map((h) => h.machineId));
      isolated = found.hosts.map((host) => ({ host, lockdown: open.get(host.machineId) ?? null }));
      total = found.total;
    }
    await client.views.publish({
      user_id: event.user,
      view: homeView({
        userId: event.user,
        permissions: actor.permissions,
        roles: actor.roles,
        isolated,
        total,
        now: deps.clock.now(),
        portalUrl: deps.portalUrl,
        ...(actor.permissions.size === 0 ? { whoToAsk: await whoToAsk(deps, actor) } : {}),
      }),
    });
  });
}

import type { webApi } from '@slack/bolt';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { Defender, DefenderPurpose } from '../core/defender.js';
import { createLookupGuard } from '../core/hosts/lookup-guard.js';
import type { LookupGuard } from '../core/hosts/lookup-host.js';
import type { DefenderUnavailable, HostStore } from '../core/hosts/ports.js';
import type { LockdownDeps } from '../core/lockdown/ports.js';
import { createRateLimiter } from '../core/rate-limit.js';
import type { People, RoleBinding } from '../core/roles/ports.js';
import type { SettingsDeps as CoreSettingsDeps } from '../core/settings/save-settings.js';
import type { Settings } from '../core/settings/settings.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../log.js';
import { registerLockdownActions } from './actions/lockdown-actions.js';
import { createActorResolver } from './actor.js';
import { createSlack, type SlackSurface } from './app.js';
import { COMMANDS_PER_MINUTE } from './commands/hostlock.js';
import { historySubcommand, listSubcommand } from './commands/list.js';
import { lockSubcommand, unlockSubcommand } from './commands/lock.js';
import { lookupSubcommand } from './commands/lookup.js';
import { rolesSubcommand } from './commands/roles.js';
import { tokenSubcommand } from './commands/token.js';
import type { SlackDeps } from './deps.js';
import { registerAppHomeOpened } from './events/app-home-opened.js';
import { registerLinkShared } from './events/link-shared.js';
import { registerLockHostStep } from './functions/lock-host.js';
import { ActionId, LOCK_MESSAGE_VIEW, ShortcutId } from './ids.js';
import type { ClaimDelivery } from './middleware.js';
import { registerLockMessage } from './shortcuts/lock-message.js';
import { registerLookupMessage } from './shortcuts/lookup-message.js';
import {
  registerSettingsActions,
  registerSettingsView,
  type SettingsDeps,
  settingsSubcommand,
} from './views/settings.js';
import { SETTINGS_CALLBACK_ID } from './views/settings-form.js';
import { SettingsAction } from './views/settings-view.js';

export interface SlackSurfaceOptions {
  config: Config['slack'];
  log: Logger;
  /** the Web API client listeners answer with (fails fast: the outbox has its own) */
  client: webApi.WebClient;
  /** core's ports: the verbs' store, the lockdown engine's ports, the inventory, Defender */
  store: Store;
  lockdown: LockdownDeps;
  hosts: HostStore;
  defender: (opts?: { purpose?: DefenderPurpose }) => Promise<Defender | DefenderUnavailable>;
  settings: () => Promise<Settings>;
  /** the role bindings, as read for every command and click (default: from the store each time) */
  roleBindings?: () => Promise<RoleBinding[]>;
  /** the settings verbs' ports (verifier, what a save reschedules) */
  settingsCore: CoreSettingsDeps;
  portalUrl: (machineId: string) => string;
  clock: Clock;
  /** takes a Slack delivery once across replicas (replays and retries are dropped) */
  claimDelivery: ClaimDelivery;
  /** the Defender cloud and API host (operator configuration), shown in the settings modal */
  endpoint: { cloud: string; apiUrl: string };
  verifyInlineMs?: number;
  /** told of each /hostlock subcommand received, for metrics */
  onCommand?: (name: string) => void;
  /** the per-person lookup quota, shared with lock requests (a new one when absent) */
  lookupGuard?: LookupGuard;
}

/**
 * Every Slack surface of hostlock on one Bolt app: the `/hostlock` subcommands, the lockdown and
 * settings actions, the settings modal and App Home. Returns the surface and the listeners' deps.
 */
export function createSlackSurface(o: SlackSurfaceOptions): {
  surface: SlackSurface;
  deps: SlackDeps;
  /** what a Slack user may do now (their roles, user groups included), for REST tokens they made */
  people: People;
} {
  const log = o.log.child({ component: 'slack' });
  const roleBindings = o.roleBindings ?? (() => o.store.roles.list());
  const deps: SlackDeps = {
    lockdown: o.lockdown,
    store: o.store,
    actors: createActorResolver({ bindings: roleBindings, client: o.client, log }),
    roleBindings,
    hosts: o.hosts,
    defender: o.defender,
    settings: o.settings,
    portalUrl: o.portalUrl,
    clock: o.clock,
    log,
    lookupGuard: o.lookupGuard ?? createLookupGuard({ clock: o.clock }),
  };
  const settings: SettingsDeps = {
    slack: deps,
    client: o.client,
    core: o.settingsCore,
    endpoint: o.endpoint,
    ...(o.verifyInlineMs ? { verifyInlineMs: o.verifyInlineMs } : {}),
  };
  const surface = createSlack({
    config: o.config,
    log: o.log,
    subcommands: [
      lookupSubcommand(deps),
      lockSubcommand(deps),
      unlockSubcommand(deps),
      listSubcommand(deps),
      historySubcommand(deps),
      rolesSubcommand(deps),
      tokenSubcommand(deps),
      settingsSubcommand(settings),
    ],
    permissionsOf: async (userId) => (await deps.actors.resolve(userId)).permissions,
    ...(o.onCommand ? { onCommand: o.onCommand } : {}),
    claimDelivery: o.claimDelivery,
    routes: {
      views: { [SETTINGS_CALLBACK_ID]: 'mde_tenant_id', [LOCK_MESSAGE_VIEW]: 'hosts' },
      actions: [...Object.values(ActionId), ...Object.values(SettingsAction)],
      shortcuts: Object.values(ShortcutId),
    },
    register: (app) => {
      registerAppHomeOpened(app, deps);
      registerLinkShared(app, deps);
      // the shortcuts share one per-person rate, as commands have theirs
      const shortcutRate = createRateLimiter({ perMinute: COMMANDS_PER_MINUTE });
      registerLookupMessage(app, deps, shortcutRate);
      registerLockMessage(app, deps, shortcutRate);
      // the Workflow Builder step is a person's request too: the same per-person rate
      registerLockHostStep(app, deps, shortcutRate);
      registerLockdownActions(app, deps);
      registerSettingsView(app, settings);
      registerSettingsActions(app, settings);
    },
  });
  const people: People = {
    async permissionsOf(actorId) {
      const user = /^slack:([UW][A-Z0-9]{2,30})$/.exec(actorId)?.[1];
      return user ? (await deps.actors.resolve(user)).permissions : null;
    },
  };
  return { surface, deps, people };
}

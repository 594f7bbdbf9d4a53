import { createHash } from 'node:crypto';
import type { Defender, DefenderPurpose } from '../core/defender.js';
import type { DefenderUnavailable } from '../core/hosts/ports.js';
import { MDE_ENDPOINT_SECRET, MDE_SECRET_NAMES, type SecretRepo } from '../core/settings/ports.js';
import type { Settings } from '../core/settings/settings.js';
import type { Logger } from '../log.js';
import type { Credentials } from './auth.js';
import { createDefenderClient, type DefenderClient, type DefenderClientOptions } from './client.js';
import { forPurpose } from './priority.js';

export interface DefenderProviderDeps {
  /** where the three credentials are sealed */
  secrets: Pick<SecretRepo, 'getAll'>;
  settings: () => Promise<Settings>;
  apiUrl: string;
  loginUrl: string;
  scope: string;
  /**
   * The endpoint the credentials are bound to (mde/clouds.ts endpointId): credentials saved for
   * another endpoint are not sent here until an admin enters the secret again.
   */
  endpoint: string;
  log: Logger;
  clientOptions?: Partial<DefenderClientOptions>;
}

export interface DefenderProvider {
  /**
   * The Defender client for the stored credentials, or why there is none. `evenIfPaused` is for
   * releasing what hostlock isolated: a pause stops new isolations and polling, not releases.
   */
  get(opts?: { evenIfPaused?: boolean; purpose?: DefenderPurpose }): Promise<Defender | DefenderUnavailable>;
  close(): Promise<void>;
}

/**
 * One Defender client per credential set (MSAL caches the token on its instance, undici keeps the
 * connections): rebuilt only when the stored credentials or the API base change.
 */
export function createDefenderProvider(deps: DefenderProviderDeps): DefenderProvider {
  let current: { key: string; client: DefenderClient } | undefined;
  let warnedEndpoint = false;
  return {
    async get(opts = {}) {
      const [settings, creds] = await Promise.all([deps.settings(), storedCredentials(deps.secrets)]);
      if (!creds) {
        return 'not_configured';
      }
      if (creds.boundTo !== null && creds.boundTo !== deps.endpoint) {
        if (!warnedEndpoint) {
          deps.log.error({ boundTo: creds.boundTo, endpoint: deps.endpoint }, 'mde.endpoint_changed');
          warnedEndpoint = true;
        }
        return 'not_configured';
      }
      if (settings.mdeState === 'paused' && !opts.evenIfPaused) {
        return 'paused';
      }
      const apiUrl = deps.apiUrl;
      const key = createHash('sha256')
        .update(JSON.stringify([creds.tenantId, creds.clientId, creds.clientSecret, apiUrl, deps.loginUrl]))
        .digest('hex');
      if (current?.key !== key) {
        const old = current?.client;
        current = {
          key,
          client: createDefenderClient({
            credentials: creds,
            apiUrl,
            loginUrl: deps.loginUrl,
            scope: deps.scope,
            onInvalidRecord: (d) => deps.log.warn(d, 'mde.invalid_record_skipped'),
            ...deps.clientOptions,
          }),
        };
        await old?.close();
      }
      // one client (one token, one budget) for every purpose; the purpose picks the priority
      return opts.purpose ? forPurpose(current.client, opts.purpose) : current.client;
    },
    async close() {
      await current?.client.close();
      current = undefined;
    },
  };
}

/** The three stored credentials and the endpoint they were saved for, or null while any is missing. */
async function storedCredentials(
  secrets: Pick<SecretRepo, 'getAll'>,
): Promise<(Credentials & { boundTo: string | null }) | null> {
  const v = await secrets.getAll([...MDE_SECRET_NAMES, MDE_ENDPOINT_SECRET]);
  return v.mde_tenant_id && v.mde_client_id && v.mde_client_secret
    ? {
        tenantId: v.mde_tenant_id,
        clientId: v.mde_client_id,
        clientSecret: v.mde_client_secret,
        boundTo: v[MDE_ENDPOINT_SECRET] ?? null,
      }
    : null;
}

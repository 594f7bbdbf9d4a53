import type { Store } from '../store.js';
import type { Settings } from './settings.js';

/** What the settings modal shows: the settings, their version, and the credentials' non-secret parts. */
export interface SettingsSnapshot {
  settings: Settings;
  version: number;
  tenantId: string | null;
  clientId: string | null;
  /** the secret itself is never read back: only when and by whom it was set */
  secretSetAt: Date | null;
  secretSetBy: string | null;
}

/** The settings as the modal shows them; the client secret stays sealed. */
export async function readSettingsSnapshot(deps: { store: Store }): Promise<SettingsSnapshot> {
  const [{ settings, version }, ids, meta] = await Promise.all([
    deps.store.settings.readVersioned(),
    deps.store.secrets.getAll(['mde_tenant_id', 'mde_client_id']),
    deps.store.secrets.meta('mde_client_secret'),
  ]);
  return {
    settings,
    version,
    tenantId: ids.mde_tenant_id ?? null,
    clientId: ids.mde_client_id ?? null,
    secretSetAt: meta?.setAt ?? null,
    secretSetBy: meta?.setBy ?? null,
  };
}

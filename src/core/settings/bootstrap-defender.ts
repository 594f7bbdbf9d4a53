import type { Clock } from '../clock.js';
import type { Store } from '../store.js';
import { type Credentials, type DefenderVerifier, MDE_ENDPOINT_SECRET } from './ports.js';
import { recordSettingsChange } from './record-settings-change.js';

const ACTOR = 'system:env';

/**
 * MDE_TENANT_ID / MDE_CLIENT_ID / MDE_CLIENT_SECRET, for deployments managed as code: verified and
 * stored sealed at start exactly as if saved from the modal (audit row and `settings.changed` in
 * the same transaction); ignored once credentials are stored.
 */
export async function bootstrapDefender(
  deps: { store: Store; verifier: DefenderVerifier; clock: Clock; endpoint: string },
  credentials: Credentials,
): Promise<
  | { outcome: 'already_configured' }
  | { outcome: 'stored'; roles: string[] }
  | { outcome: 'failed'; code: string; message: string }
> {
  if (await deps.store.secrets.has('mde_client_secret')) {
    return { outcome: 'already_configured' };
  }
  const verified = await deps.verifier.verify(credentials);
  if (!verified.ok) {
    return { outcome: 'failed', code: verified.code, message: verified.message };
  }
  const values = {
    mde_tenant_id: credentials.tenantId,
    mde_client_id: credentials.clientId,
    mde_client_secret: credentials.clientSecret,
    [MDE_ENDPOINT_SECRET]: deps.endpoint,
  };
  await deps.store.transaction(async (tx) => {
    await tx.secrets.putAll(values, ACTOR);
    await recordSettingsChange(tx, {
      actor: ACTOR,
      targetId: 'defender',
      summary: 'Defender credentials stored from the MDE_* environment',
      details: {
        fields: Object.keys(values).filter((k) => k !== MDE_ENDPOINT_SECRET),
        via: 'MDE_* environment',
      },
      at: deps.clock.now(),
    });
  });
  return { outcome: 'stored', roles: verified.roles };
}

import type { Store } from '../store.js';
import { MDE_ENDPOINT_SECRET } from './ports.js';

/**
 * At start: credentials stored before endpoints were bound (an older hostlock) are bound to the
 * endpoint configured now, audited. Returns 'moved' when they are bound to another endpoint: they
 * stay unused until an admin types the secret again (the Defender provider refuses them).
 */
export async function bindDefenderEndpoint(
  deps: { store: Store },
  endpoint: string,
): Promise<'not_configured' | 'unchanged' | 'bound' | 'moved'> {
  const v = await deps.store.secrets.getAll(['mde_client_secret', MDE_ENDPOINT_SECRET]);
  if (!v.mde_client_secret) {
    return 'not_configured';
  }
  const boundTo = v[MDE_ENDPOINT_SECRET];
  if (boundTo !== undefined) {
    return boundTo === endpoint ? 'unchanged' : 'moved';
  }
  await deps.store.transaction(async (tx) => {
    await tx.secrets.putAll({ [MDE_ENDPOINT_SECRET]: endpoint }, 'system:hostlock');
    await tx.audit.append({
      actor: 'system:hostlock',
      action: 'defender.endpoint_bound',
      targetType: 'settings',
      targetId: 'defender',
      outcome: 'ok',
      details: { endpoint },
    });
  });
  return 'bound';
}

import { eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { secrets, settings } from '../schema.js';

export type DefenderState = 'enabled' | 'paused' | 'not_configured';

/**
 * Defender is ready when credentials are stored and it is enabled, or when an admin paused it on
 * purpose (DESIGN §3.7). "not_configured" keeps /readyz at 503 so a fresh install is noticed.
 */
export async function defenderReadiness(db: Database): Promise<{ ok: boolean; state: DefenderState }> {
  const [row] = await db.select({ data: settings.data }).from(settings).where(eq(settings.id, 1));
  const paused = (row?.data as { mde_state?: unknown } | undefined)?.mde_state === 'paused';
  const stored = await db
    .select({ name: secrets.name })
    .from(secrets)
    .where(eq(secrets.name, 'mde_client_secret'));
  const state: DefenderState = stored.length === 0 ? 'not_configured' : paused ? 'paused' : 'enabled';
  return { ok: state !== 'not_configured', state };
}

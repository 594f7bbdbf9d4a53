import type { Logger } from '../log.js';
import type { Credentials } from './auth.js';
import { createDefenderClient } from './client.js';

/** Secret names under which Defender credentials are sealed (the modal's block ids, DESIGN §3.3). */
export const MDE_SECRET_NAMES = ['mde_tenant_id', 'mde_client_id', 'mde_client_secret'] as const;

/** Application permissions hostlock needs: each entry is satisfied by any of its alternatives. */
export const REQUIRED_ROLES = [['Machine.Read.All', 'Machine.ReadWrite.All'], ['Machine.Isolate']] as const;

export type VerifyOutcome = { ok: true; roles: string[] } | { ok: false; code: string; message: string };

/**
 * "Verify connection": signs in, reads one machine, and checks the token carries Machine.Isolate.
 * Never throws for a credential problem; the message says what the admin must fix.
 */
export async function verifyDefenderCredentials(
  credentials: Credentials,
  at: { apiUrl: string; loginUrl: string },
): Promise<VerifyOutcome> {
  let client: ReturnType<typeof createDefenderClient> | undefined;
  try {
    client = createDefenderClient({ credentials, ...at, retry: { maxRetries: 1, maxThrottleRetries: 0 } });
    const { roles } = await client.probe();
    const missing = REQUIRED_ROLES.filter((any) => !any.some((r) => roles.includes(r))).map((any) => any[0]);
    if (missing.length) {
      return {
        ok: false,
        code: 'mde_missing_permission',
        message:
          `Signed in and read machines, but the app lacks ${missing.join(', ')}. Add it under API permissions → ` +
          'WindowsDefenderATP → Application permissions and grant admin consent.',
      };
    }
    return { ok: true, roles };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return {
      ok: false,
      code: typeof code === 'string' ? code : 'mde_verify_failed',
      message: e instanceof Error ? e.message : String(e),
    };
  } finally {
    await client?.close();
  }
}

/**
 * MDE_TENANT_ID / MDE_CLIENT_ID / MDE_CLIENT_SECRET: for deployments managed as code, verified and
 * stored sealed at start exactly as if saved from the modal; ignored once credentials are stored.
 */
export async function bootstrapDefenderFromEnv(p: {
  credentials: Credentials;
  apiUrl: string;
  loginUrl: string;
  isStored: () => Promise<boolean>;
  store: (values: Record<(typeof MDE_SECRET_NAMES)[number], string>) => Promise<void>;
  log: Logger;
}): Promise<void> {
  if (await p.isStored()) {
    p.log.info({}, 'mde.bootstrap_skipped_already_configured');
    return;
  }
  const outcome = await verifyDefenderCredentials(p.credentials, p);
  if (!outcome.ok) {
    p.log.error({ code: outcome.code, reason: outcome.message }, 'mde.bootstrap_failed');
    return;
  }
  await p.store({
    mde_tenant_id: p.credentials.tenantId,
    mde_client_id: p.credentials.clientId,
    mde_client_secret: p.credentials.clientSecret,
  });
  p.log.info({ roles: outcome.roles }, 'mde.bootstrap_stored');
}

import type { Credentials, DefenderVerifier, VerifyOutcome } from '../core/settings/ports.js';
import { createDefenderClient } from './client.js';

/** Application permissions hostlock needs: each entry is satisfied by any of its alternatives. */
export const REQUIRED_ROLES = [['Machine.Read.All', 'Machine.ReadWrite.All'], ['Machine.Isolate']] as const;

/**
 * "Verify connection": signs in, reads one machine, and checks the token carries Machine.Isolate.
 * Never throws for a credential problem; the message says what the admin must fix.
 */
export async function verifyDefenderCredentials(
  credentials: Credentials,
  at: { apiUrl: string; loginUrl: string; scope?: string },
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

/** The DefenderVerifier port, always against the configured endpoint (operator configuration only). */
export function defenderVerifier(at: { apiUrl: string; loginUrl: string; scope: string }): DefenderVerifier {
  return { verify: (credentials) => verifyDefenderCredentials(credentials, at) };
}

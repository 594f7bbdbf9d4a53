import { AuthError, ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import { HostlockError } from '../core/errors.js';

/**
 * Token scope for the MDE API on every commercial host, including api.security.microsoft.com.
 * api.security.microsoft.com/.default is a different resource whose tokens get 403 (mde-api.md §1.2),
 * so this is hard-coded, not a setting.
 */
export const MDE_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

export type SignInProblem =
  | 'tenant_not_found'
  | 'tenant_malformed'
  | 'client_not_found'
  | 'secret_wrong'
  | 'secret_expired'
  | 'secret_missing'
  | 'defender_not_provisioned'
  | 'app_disabled'
  | 'blocked_by_policy'
  | 'other_cloud'
  | 'unreachable'
  | 'unknown';

/** What the admin must fix, per AADSTS code (mde-api.md §1.3). Never parsed from Microsoft's prose. */
const AADSTS: Record<number, { problem: SignInProblem; fix: string }> = {
  90002: {
    problem: 'tenant_not_found',
    fix: "Tenant ID not found. Copy the Directory (tenant) ID from the app registration's Overview page, and check the cloud (login host).",
  },
  900023: {
    problem: 'tenant_malformed',
    fix: "That isn't a tenant ID. It should be a GUID or yourtenant.onmicrosoft.com.",
  },
  700016: {
    problem: 'client_not_found',
    fix: "Application (client) ID not found in this tenant. Copy it from the app registration's Overview page, and check that the app lives in this tenant.",
  },
  7000215: {
    problem: 'secret_wrong',
    fix: "Client secret is wrong. Paste the secret's Value, not its Secret ID.",
  },
  7000222: {
    problem: 'secret_expired',
    fix: 'This client secret has expired. Create a new one under Certificates & secrets and enter its Value.',
  },
  7000218: { problem: 'secret_missing', fix: 'Client secret is required.' },
  500011: {
    problem: 'defender_not_provisioned',
    fix: "Defender for Endpoint isn't set up in this tenant (no WindowsDefenderATP service principal).",
  },
  7000112: {
    problem: 'app_disabled',
    fix: 'The app registration is disabled. Enable it in Entra ID (Enterprise applications → Properties).',
  },
  53003: { problem: 'blocked_by_policy', fix: "Sign-in blocked by your tenant's Conditional Access policy." },
  530032: { problem: 'blocked_by_policy', fix: "Sign-in blocked by your tenant's security policy." },
  90038: {
    problem: 'other_cloud',
    fix: 'This tenant is in another cloud (e.g. US Government): set the login host and API base for that cloud.',
  },
};

/** Signing in to Entra ID failed; `message` says what the admin must fix. */
export class MdeAuthError extends HostlockError {
  override name = 'MdeAuthError';
  constructor(
    readonly problem: SignInProblem,
    readonly aadsts: number | undefined,
    message: string,
    cause?: unknown,
  ) {
    super(message, {
      code: `mde_sign_in_${problem}`,
      retryable: problem === 'unreachable' || problem === 'unknown',
      context: { aadsts },
      cause,
    });
  }
}

/** Classifies an msal-node failure by its AADSTS number (`errorNo`, else the `AADSTSnnnn:` prefix). */
export function classifySignInError(e: unknown): MdeAuthError {
  if (e instanceof MdeAuthError) {
    return e;
  }
  const errorNo =
    e instanceof AuthError ? (e as AuthError & { errorNo?: string | number }).errorNo : undefined;
  const text = e instanceof Error ? e.message : String(e);
  const n = Number(errorNo ?? /AADSTS(\d+)/.exec(text)?.[1]);
  const known = Number.isFinite(n) ? AADSTS[n] : undefined;
  if (known) {
    return new MdeAuthError(known.problem, n, `Defender sign-in failed (AADSTS${n}): ${known.fix}`, e);
  }
  if (e instanceof AuthError && /network|endpoints_resolution/i.test(e.errorCode)) {
    return new MdeAuthError(
      'unreachable',
      undefined,
      `Entra ID sign-in endpoint unreachable: ${e.errorCode}`,
      e,
    );
  }
  const code = Number.isFinite(n) ? `AADSTS${n}` : e instanceof AuthError ? e.errorCode : 'unknown error';
  return new MdeAuthError(
    'unknown',
    Number.isFinite(n) ? n : undefined,
    `Defender sign-in failed (${code}).`,
    e,
  );
}

export interface Credentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface TokenProvider {
  /** A bearer token valid for at least another minute. */
  getToken(): Promise<string>;
  /** Drop the cached token (after a 401 from Defender). */
  invalidate(): void;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$/;
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Client-credentials tokens from Entra ID through msal-node, cached until five minutes before
 * expiry. One provider per credential set; MSAL keeps its own cache on the same instance.
 */
export function createTokenProvider(
  creds: Credentials,
  opts: { loginUrl: string; scope?: string; now?: () => number; onRefresh?: () => void },
): TokenProvider {
  const now = opts.now ?? Date.now;
  if (!TENANT.test(creds.tenantId)) {
    throw new MdeAuthError('tenant_malformed', undefined, `Defender sign-in failed: ${AADSTS[900023]?.fix}`);
  }
  const login = new URL(opts.loginUrl);
  const authority = `${login.origin}/${encodeURIComponent(creds.tenantId)}`;
  // Entra's endpoints follow a fixed template; giving MSAL the metadata skips instance discovery
  // (which would hard-code login.microsoftonline.com) and makes the token POST the only sign-in call,
  // so its AADSTS code reaches us unchanged.
  const metadata = {
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    issuer: `${authority}/v2.0`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
  };
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      authority,
      knownAuthorities: [login.host],
      authorityMetadata: JSON.stringify(metadata),
    },
    system: {
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
    },
  });
  let cached: { token: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function fetchToken(force: boolean): Promise<string> {
    try {
      const r = await app.acquireTokenByClientCredential({
        scopes: [opts.scope ?? MDE_SCOPE],
        skipCache: force,
      });
      if (!r?.accessToken) {
        throw new MdeAuthError('unknown', undefined, 'Defender sign-in returned no access token.');
      }
      opts.onRefresh?.();
      cached = { token: r.accessToken, expiresAt: r.expiresOn?.getTime() ?? now() + 3_000_000 };
      return r.accessToken;
    } catch (e) {
      throw classifySignInError(e);
    }
  }

  let forceNext = false;
  return {
    getToken() {
      if (cached && cached.expiresAt - RENEW_BEFORE_MS > now()) {
        return Promise.resolve(cached.token);
      }
      // One sign-in at a time: concurrent callers share it.
      inflight ??= fetchToken(forceNext).finally(() => {
        inflight = undefined;
        forceNext = false;
      });
      return inflight;
    },
    invalidate() {
      cached = undefined;
      forceNext = true;
    },
  };
}

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { PLAIN_JSON, type Reply } from './http.js';
import { guidFrom } from './machines.js';
import type { MdeApp } from './types.js';

/** The `aud` of an MDE-valid token (mde-api.md §1.1, §9). */
export const MDE_AUDIENCE = 'https://api.securitycenter.microsoft.com';

/** The cloud a peer stands for (mde-api.md §2: GCC, GCC High, DoD) and its MDE resource. */
export type PeerCloud = 'commercial' | 'gcc' | 'gcc-high' | 'dod';
export const CLOUD_AUDIENCE: Record<PeerCloud, string> = {
  commercial: MDE_AUDIENCE,
  gcc: 'https://api-gcc.securitycenter.microsoft.us',
  'gcc-high': 'https://api-gov.securitycenter.microsoft.us',
  dod: 'https://api-gov.securitycenter.microsoft.us',
};

/**
 * Resources whose `.default` scope yields an MDE token in that cloud: the first-party app by name
 * and id (mde-api.md §1.1) in the commercial cloud; in the US government clouds, their own
 * resource (§2). A token for another cloud's resource is refused as an unknown resource.
 */
function mdeResources(cloud: PeerCloud): Set<string> {
  return cloud === 'commercial'
    ? new Set([
        MDE_AUDIENCE,
        'https://securitycenter.onmicrosoft.com/windowsatpservice',
        'fc780465-2017-40d4-a0c5-307022471b92',
      ])
    : new Set([CLOUD_AUDIENCE[cloud]]);
}
/** Other real resources: a token is issued, but MDE answers 403 (mde-api.md §1.2). */
const OTHER_RESOURCES = new Set([
  'https://api.security.microsoft.com',
  'https://graph.microsoft.com',
  'https://management.azure.com',
]);
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

interface Tenant {
  id: string;
  domain: string;
  hasMde: boolean;
}

/** Claims the MDE side reads from a bearer token. */
export type TokenClaims = z.infer<typeof Claims>;
const Claims = z.object({
  aud: z.string(),
  tid: z.string(),
  appid: z.string(),
  app_displayname: z.string(),
  exp: z.number(),
  roles: z.array(z.string()).optional(),
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Fake Entra ID: tenants, app registrations, the token endpoint and the OIDC metadata document. */
export class Entra {
  private readonly tenants = new Map<string, Tenant>();
  private readonly domains = new Map<string, string>();
  private readonly apps = new Map<string, MdeApp>();
  private readonly key = randomBytes(32);
  issued = 0;

  private readonly mdeResources: Set<string>;

  constructor(
    private readonly baseUrl: () => string,
    private readonly now: () => Date,
    readonly cloud: PeerCloud = 'commercial',
  ) {
    this.mdeResources = mdeResources(cloud);
  }

  private addTenant(id: string, domain: string | undefined, hasMde: boolean): void {
    const key = id.toLowerCase();
    const existing = this.tenants.get(key);
    const tenant = {
      id: key,
      domain: (domain ?? existing?.domain ?? `${key.slice(0, 8)}.onmicrosoft.com`).toLowerCase(),
      hasMde: existing ? existing.hasMde && hasMde : hasMde,
    };
    this.tenants.set(key, tenant);
    this.domains.set(tenant.domain, key);
  }

  addApp(app: MdeApp): void {
    this.addTenant(app.tenantId, app.tenantDomain, true);
    this.apps.set(`${app.tenantId.toLowerCase()}|${app.clientId.toLowerCase()}`, app);
  }

  addTenantWithoutMde(tenantId: string, tenantDomain?: string): void {
    this.addTenant(tenantId, tenantDomain, false);
  }

  /** The verified domain of a tenant, for `requestor` strings. */
  domainOf(tenantId: string): string {
    return this.tenants.get(tenantId.toLowerCase())?.domain ?? tenantId;
  }

  /** Handles `/{tenant}/oauth2[/v2.0]/token` and `/{tenant}[/v2.0]/.well-known/openid-configuration`. */
  handle(method: string, segments: string[], body: string, headers: Record<string, string>): Reply | null {
    const [tenantRef = '', ...rest] = segments;
    const route = rest.join('/');
    const isToken = route === 'oauth2/v2.0/token' || route === 'oauth2/token';
    const isMetadata =
      route === 'v2.0/.well-known/openid-configuration' || route === '.well-known/openid-configuration';
    if (!isToken && !isMetadata) {
      return null;
    }
    const fail = (status: number, error: string, code: number, text: string): Reply =>
      this.error(status, error, code, text, headers['client-request-id']);
    if (!GUID.test(tenantRef) && !DOMAIN.test(tenantRef)) {
      return fail(
        400,
        'invalid_request',
        900023,
        `Specified tenant identifier '${tenantRef}' is neither a valid DNS name, nor a valid external domain.`,
      );
    }
    const tenant = this.tenants.get(
      GUID.test(tenantRef) ? tenantRef.toLowerCase() : (this.domains.get(tenantRef.toLowerCase()) ?? ''),
    );
    if (!tenant) {
      return fail(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenantRef}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    if (isMetadata) {
      return method === 'GET'
        ? this.metadata(tenant)
        : fail(405, 'invalid_request', 900561, 'The endpoint only accepts GET requests.');
    }
    if (method !== 'POST') {
      return fail(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    }
    const form = new URLSearchParams(body);
    const missing = (name: string) =>
      fail(
        400,
        'invalid_request',
        900144,
        `The request body must contain the following parameter: '${name}'.`,
      );
    const grantType = form.get('grant_type');
    if (!grantType) {
      return missing('grant_type');
    }
    if (grantType !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = form.get('client_id');
    if (!clientId) {
      return missing('client_id');
    }
    const v1 = route === 'oauth2/token';
    let resource: string;
    if (v1) {
      resource = form.get('resource') ?? '';
      if (!resource) {
        return missing('resource');
      }
    } else {
      const scopes = (form.get('scope') ?? '').split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
      if (scopes.length === 0) {
        return missing('scope');
      }
      const [scope = ''] = scopes;
      if (scopes.length > 1 || !scope.endsWith('/.default')) {
        return fail(
          400,
          'invalid_scope',
          70011,
          `The provided value for the input parameter 'scope' is not valid. The scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
        );
      }
      resource = scope.slice(0, -'/.default'.length);
    }
    resource = resource.replace(/\/+$/, '');
    const isMde = this.mdeResources.has(resource.toLowerCase());
    if ((isMde && !tenant.hasMde) || (!isMde && !OTHER_RESOURCES.has(resource.toLowerCase()))) {
      return fail(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenant.domain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    const app = this.apps.get(`${tenant.id}|${clientId.toLowerCase()}`);
    if (!app) {
      return fail(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.domain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const appName = app.appName ?? 'hostlock';
    if (app.disabled) {
      return fail(
        400,
        'unauthorized_client',
        7000112,
        `Application '${app.clientId}'(${appName}) is disabled.`,
      );
    }
    const secret = form.get('client_secret');
    if (!secret && !form.get('client_assertion')) {
      return fail(
        400,
        'invalid_request',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    if (secret !== app.secret) {
      return fail(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
    if (app.secretExpired) {
      return fail(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
      );
    }
    const roles = app.roles ?? ['Machine.Read.All', 'Machine.Isolate'];
    const iat = Math.floor(this.now().getTime() / 1000);
    const payload = {
      aud: isMde ? CLOUD_AUDIENCE[this.cloud] : resource,
      iss: `https://sts.windows.net/${tenant.id}/`,
      iat,
      nbf: iat,
      exp: iat + 3599,
      app_displayname: appName,
      appid: app.clientId,
      appidacr: '1',
      idp: `https://sts.windows.net/${tenant.id}/`,
      oid: guidFrom(`sp:${tenant.id}:${app.clientId}`),
      ...(roles.length > 0 ? { roles } : {}),
      sub: guidFrom(`sp:${tenant.id}:${app.clientId}`),
      tid: tenant.id,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    const unsigned = `${b64url({ typ: 'JWT', alg: 'HS256', kid: 'hostlock-fake' })}.${b64url(payload)}`;
    const signature = createHmac('sha256', this.key).update(unsigned).digest('base64url');
    this.issued++;
    return {
      status: 200,
      headers: { 'content-type': PLAIN_JSON, 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
      body: {
        token_type: 'Bearer',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: `${unsigned}.${signature}`,
      },
    };
  }

  /** The claims of a token this peer signed and that has not expired by the peer clock; else `null`. */
  verify(token: string): TokenClaims | null {
    const [header, payload, signature, ...extra] = token.split('.');
    if (!header || !payload || !signature || extra.length > 0) {
      return null;
    }
    const expected = createHmac('sha256', this.key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const claims = Claims.safeParse(json);
    if (!claims.success || claims.data.exp * 1000 <= this.now().getTime()) {
      return null;
    }
    return claims.data;
  }

  private metadata(tenant: Tenant): Reply {
    const base = `${this.baseUrl()}/${tenant.id}`;
    return {
      status: 200,
      headers: { 'content-type': PLAIN_JSON },
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        tenant_region_scope: 'NA',
        cloud_instance_name: 'microsoftonline.com',
      },
    };
  }

  private error(status: number, error: string, code: number, text: string, clientRequestId?: string): Reply {
    const now = this.now().toISOString();
    const timestamp = `${now.slice(0, 10)} ${now.slice(11, 19)}Z`;
    const traceId = randomUUID();
    const correlationId = clientRequestId && GUID.test(clientRequestId) ? clientRequestId : randomUUID();
    return {
      status,
      headers: { 'content-type': PLAIN_JSON, 'cache-control': 'no-store, no-cache' },
      body: {
        error,
        error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${this.baseUrl()}/error?code=${code}`,
      },
    };
  }
}

/**
 * Microsoft's published endpoints of Defender for Endpoint, per cloud: the Entra ID login host, the
 * token scope, the API hosts (the default first, then geo and legacy hosts) and the portal.
 * Sources: learn.microsoft.com/defender-endpoint/gov ("API" section: login and API hosts of GCC,
 * GCC High and DoD), learn.microsoft.com/defender-endpoint/api/exposed-apis-list and
 * …/api/isolate-machine (api.security.microsoft.com and its us/eu/uk/au/swa/ina/aea geo hosts),
 * learn.microsoft.com/defender-endpoint/api/exposed-apis-create-app-webapp (the
 * api.securitycenter.microsoft.com/.default scope); see shared/reference/mde-api.md §1.4 and §2.
 * hostlock sends its bearer token to these hosts only: a settings editor cannot point it elsewhere.
 */
export const MDE_CLOUDS = {
  commercial: {
    login: 'https://login.microsoftonline.com',
    scope: 'https://api.securitycenter.microsoft.com/.default',
    api: [
      'https://api.security.microsoft.com',
      'https://us.api.security.microsoft.com',
      'https://eu.api.security.microsoft.com',
      'https://uk.api.security.microsoft.com',
      'https://au.api.security.microsoft.com',
      'https://swa.api.security.microsoft.com',
      'https://ina.api.security.microsoft.com',
      'https://aea.api.security.microsoft.com',
      'https://api.securitycenter.microsoft.com',
      'https://api-us.securitycenter.microsoft.com',
      'https://api-eu.securitycenter.microsoft.com',
      'https://api-uk.securitycenter.microsoft.com',
      'https://api-au.securitycenter.microsoft.com',
    ],
    portal: 'https://security.microsoft.com',
  },
  gcc: {
    login: 'https://login.microsoftonline.com',
    scope: 'https://api-gcc.securitycenter.microsoft.us/.default',
    api: ['https://api-gcc.securitycenter.microsoft.us'],
    portal: 'https://security.microsoft.com',
  },
  'gcc-high': {
    login: 'https://login.microsoftonline.us',
    scope: 'https://api-gov.securitycenter.microsoft.us/.default',
    api: ['https://api-gov.securitycenter.microsoft.us'],
    portal: 'https://security.microsoft.us',
  },
  dod: {
    login: 'https://login.microsoftonline.us',
    scope: 'https://api-gov.securitycenter.microsoft.us/.default',
    api: ['https://api-gov.securitycenter.microsoft.us'],
    portal: 'https://security.apps.mil',
  },
} as const;

export type MdeCloud = keyof typeof MDE_CLOUDS;
export const MDE_CLOUD_NAMES = Object.keys(MDE_CLOUDS) as MdeCloud[];

/** Where credentials are sent, as one string: what they are bound to when saved. */
export function endpointId(e: { loginUrl: string; apiUrl: string; scope: string }): string {
  return `login=${e.loginUrl} api=${e.apiUrl} scope=${e.scope}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why `url` may not be this cloud's login or API endpoint, or null when it may: it must be one of
 * Microsoft's published https origins for the cloud, exactly (no path, no port). With
 * `allowLoopback` (tests only: the in-repo peers), an http(s) origin on 127.0.0.1, localhost or
 * [::1] is allowed too.
 */
export function endpointProblem(
  url: string,
  cloud: MdeCloud,
  kind: 'api' | 'login',
  allowLoopback: boolean,
): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (allowLoopback && LOOPBACK.has(u.hostname) && (u.protocol === 'https:' || u.protocol === 'http:')) {
    return null;
  }
  if (u.protocol !== 'https:') {
    return 'must be an https:// URL';
  }
  const allowed: readonly string[] = kind === 'api' ? MDE_CLOUDS[cloud].api : [MDE_CLOUDS[cloud].login];
  const origin = u.origin;
  if (!allowed.includes(origin) || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    return `must be one of Microsoft's ${kind === 'api' ? 'Defender API hosts' : 'Entra ID login hosts'} for MDE_CLOUD=${cloud}: ${allowed.join(', ')}`;
  }
  return null;
}

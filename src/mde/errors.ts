import { HostlockError } from '../core/errors.js';
import { scrubString } from '../log.js';

/**
 * Defender answered with an error body `{ error: { code, message, target } }` (mde-api.md §7).
 * `mdeCode` keeps Defender's own code (ActiveRequestAlreadyExists, Forbidden, ResourceNotFound…);
 * branch on it, never on the free-text message.
 */
export class MdeApiError extends HostlockError {
  override name = 'MdeApiError';
  readonly status: number;
  readonly mdeCode: string;
  /** Defender's per-request correlation id: quote it to Microsoft support. */
  readonly target: string | undefined;
  /** For 403: the application permissions Defender says are required. */
  readonly requiredPermissions: string[];
  readonly retryAfterMs: number | undefined;

  constructor(p: {
    method: string;
    path: string;
    status: number;
    mdeCode: string;
    mdeMessage: string;
    target?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    const required = p.status === 403 ? permissionsIn(p.mdeMessage) : [];
    super(describe(p, required), {
      code: `mde_${snake(p.mdeCode)}`,
      retryable: p.status === 429 || p.status >= 500,
      context: { status: p.status, mdeCode: p.mdeCode, target: p.target, method: p.method, path: p.path },
    });
    this.status = p.status;
    this.mdeCode = p.mdeCode;
    this.target = p.target;
    this.requiredPermissions = required;
    this.retryAfterMs = p.retryAfterMs;
  }

  /** A second isolate/release while one is Pending or InProgress: "already in progress", not a failure. */
  get isActiveRequestAlreadyExists(): boolean {
    return this.mdeCode === 'ActiveRequestAlreadyExists';
  }
}

/** The request may or may not have reached Defender (connection reset, timeout, 5xx on a POST). */
export class MdeNetworkError extends HostlockError {
  override name = 'MdeNetworkError';
  constructor(method: string, path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`Defender API request failed before an answer arrived: ${method} ${path}: ${why}`, {
      code: 'mde_unreachable',
      retryable: true,
      context: { method, path },
      cause,
    });
  }
}

/** Defender's body did not have the documented shape. */
export class MdeResponseError extends HostlockError {
  override name = 'MdeResponseError';
  constructor(method: string, path: string, detail: string) {
    super(`Defender API answered ${method} ${path} with an unexpected body: ${detail}`, {
      code: 'mde_bad_response',
      retryable: false,
      context: { method, path },
    });
  }
}

function snake(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase() || 'error';
}

const PERMISSION =
  /\b(Machine|Alert|Ti|File|Ip|Url|User|Vulnerability|Software|Score|SecurityRecommendation|AdvancedQuery|Library|RemediationTasks|Event|SecurityConfiguration)\.[A-Za-z.]+\b/g;

function permissionsIn(message: string): string[] {
  return [...new Set(message.match(PERMISSION) ?? [])].map((p) => p.replace(/\.$/, ''));
}

function describe(
  p: {
    method: string;
    path: string;
    status: number;
    mdeCode: string;
    mdeMessage: string;
    target?: string | undefined;
  },
  required: string[],
): string {
  const head = `Defender API refused ${p.method} ${p.path} (${p.status} ${p.mdeCode})`;
  const ref = p.target ? ` [correlation id ${p.target}]` : '';
  switch (p.mdeCode) {
    case 'Forbidden':
      return (
        `${head}: the Entra app lacks ${required.length ? required.join(' or ') : 'a required permission'}. ` +
        'Add it under API permissions → WindowsDefenderATP → Application permissions and grant admin consent ' +
        '(a token for the wrong audience gives the same answer).' +
        ref
      );
    case 'Unauthorized':
      return `${head}: the access token was missing, invalid or expired.${ref}`;
    case 'TooManyRequests':
      return `${head}: Defender is throttling this app (100 calls/min, 1500/h per API).${ref}`;
    case 'ActiveRequestAlreadyExists':
      return `${head}: an action of this kind is already in progress for this machine.${ref}`;
    default:
      // Defender's text is untrusted and may quote credentials; it reaches Slack, syslog and the API
      return `${head}: ${scrubString(p.mdeMessage) || 'no message'}${ref}`;
  }
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateToken, type TokenCaller } from '../core/api-tokens/queries.js';
import type { ApiScope } from '../core/api-tokens/tokens.js';
import type { People } from '../core/roles/ports.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../log.js';
import { apiError } from './http.js';

/** A request's authenticated caller: the token as a core actor, and its scopes. */
export type ApiCaller = TokenCaller;

const SCHEME = /^(?:Token|Bearer)[ \t]+(\S+)[ \t]*$/i;

/** The token in `Authorization: Token <t>` or `Bearer <t>`; null when absent or malformed. */
export function tokenFrom(header: string | undefined): string | null {
  const m = SCHEME.exec(header ?? '');
  return m?.[1] ?? null;
}

/**
 * The caller of an API request, looked up by the hash of its token; otherwise answers 401 and
 * returns null. The token itself is never logged or echoed.
 */
export async function authenticate(
  deps: { store: Store; people: People; log: Logger },
  req: IncomingMessage,
  res: ServerResponse,
  /** > 0 while the source address is over its failed-authentication budget: a failure is a 429 */
  throttledMs = 0,
): Promise<ApiCaller | null> {
  const token = tokenFrom(req.headers.authorization);
  const found = token ? await authenticateToken(deps, token) : 'missing';
  if (typeof found === 'string') {
    deps.log.info({ reason: found, method: req.method, path: req.url?.split('?')[0] }, 'api.auth_refused');
    req.resume();
    if (throttledMs > 0) {
      res.setHeader('retry-after', String(Math.ceil(throttledMs / 1000)));
      apiError(
        res,
        429,
        'rate_limited',
        'Too many failed authentications from this address; try again later.',
      );
      return null;
    }
    res.setHeader('www-authenticate', 'Bearer realm="hostlock"');
    apiError(
      res,
      401,
      'unauthorized',
      token
        ? 'The API token is unknown, expired or revoked, or its creator no longer has `settings:edit`. Create one with `/hostlock token create`.'
        : 'Send an API token as `Authorization: Bearer <token>` (or `Token <token>`); create one with `/hostlock token create`.',
    );
    return null;
  }
  return found;
}

/** Whether `caller` holds `scope`; otherwise answers 403 naming the missing scope. */
export function requireScope(
  caller: ApiCaller,
  scope: ApiScope,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (caller.scopes.includes(scope)) {
    return true;
  }
  req.resume();
  apiError(res, 403, 'forbidden', `This token lacks the \`${scope}\` scope. Create a token that has it.`);
  return false;
}

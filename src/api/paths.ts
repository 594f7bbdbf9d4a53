/** The REST API's paths (DESIGN §3.7): the router's table and the request metric's labels. */
export const API_PREFIX = '/api/v2.1';
export const LOCKDOWN_HOST = `${API_PREFIX}/lockdown/host`;
export const HOST_SCORES = `${API_PREFIX}/host/scores`;
/** `GET …/host?ip=…&at=…`: which devices had an IP at a time (issue #18, item 4) */
export const HOST = `${API_PREFIX}/host`;
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** `DELETE …/lockdown/host/{id}`: the id is a lockdown id or a machine id */
export const LOCKDOWN_HOST_ID = /^\/api\/v2\.1\/lockdown\/host\/([A-Za-z0-9_-]{1,64})$/;

/** A path's API route as a bounded label (`…/lockdown/host/:id`), or null for none of them. */
export function apiRoute(pathname: string): string | null {
  if (
    pathname === LOCKDOWN_HOST ||
    pathname === HOST_SCORES ||
    pathname === OPENAPI_PATH ||
    pathname === HOST
  ) {
    return pathname;
  }
  return LOCKDOWN_HOST_ID.test(pathname) ? `${LOCKDOWN_HOST}/:id` : null;
}

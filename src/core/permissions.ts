/** Permissions and built-in roles (DESIGN §3.4). Contract names: never retype these literals. */
export const PERMISSIONS = [
  'settings:view',
  'settings:edit',
  'lockdown:view',
  'lockdown:edit',
  'lockdown:approve',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = {
  admin: ['settings:view', 'settings:edit', 'lockdown:view', 'lockdown:edit', 'lockdown:approve'],
  responder: ['lockdown:view', 'lockdown:edit', 'lockdown:approve'],
  analyst: ['lockdown:view', 'settings:view'],
} as const satisfies Record<string, readonly Permission[]>;
export type Role = keyof typeof ROLES;

export const isRole = (s: string): s is Role => Object.hasOwn(ROLES, s);

/** The union of the permissions of `roles`; unknown role names grant nothing. */
export function permissionsOf(roles: Iterable<string>): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  for (const r of roles) {
    if (isRole(r)) {
      for (const p of ROLES[r]) {
        out.add(p);
      }
    }
  }
  return out;
}

/** Who is acting, as core sees it: Slack ids become this at the edge. */
export type Actor =
  | { kind: 'slack'; userId: string; permissions: ReadonlySet<Permission> }
  /** a REST token acts for the person who created it (`createdBy`, e.g. `slack:U…`) */
  | { kind: 'api'; tokenId: string; createdBy: string; permissions: ReadonlySet<Permission> }
  | { kind: 'system'; name: string; permissions: ReadonlySet<Permission> };

/**
 * Who acts, as stable text for audit rows, `requested_by` and the two-person rule: `slack:U…`,
 * `system:…`, and for a REST token the person who created it (issue #14: an admin's own token is
 * that admin, so they cannot approve what they requested through it). {@link viaOf} names the token.
 */
export function actorId(a: Actor): string {
  switch (a.kind) {
    case 'slack':
      return `slack:${a.userId}`;
    case 'api':
      return a.createdBy;
    case 'system':
      return `system:${a.name}`;
  }
}

/** The API token an actor acts through (`api:tok_…`), or null when it is not a token. */
export const viaOf = (a: Actor): string | null => (a.kind === 'api' ? `api:${a.tokenId}` : null);

export const can = (a: Actor, p: Permission): boolean => a.permissions.has(p);

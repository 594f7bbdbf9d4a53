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
  | { kind: 'api'; tokenId: string; permissions: ReadonlySet<Permission> }
  | { kind: 'system'; name: string; permissions: ReadonlySet<Permission> };

/** Stable text for audit rows and `requested_by`: `slack:U…`, `api:tok_…`, `system:…`. */
export function actorId(a: Actor): string {
  switch (a.kind) {
    case 'slack':
      return `slack:${a.userId}`;
    case 'api':
      return `api:${a.tokenId}`;
    case 'system':
      return `system:${a.name}`;
  }
}

export const can = (a: Actor, p: Permission): boolean => a.permissions.has(p);

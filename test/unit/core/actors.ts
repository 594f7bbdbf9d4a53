import { type Actor, permissionsOf } from '../../../src/core/permissions.js';

/** Slack actors with the built-in roles, as the Slack adapter would resolve them. */
export const slack = (userId: string, ...roles: string[]): Actor => ({
  kind: 'slack',
  userId,
  permissions: permissionsOf(roles),
});

export const ADMIN = slack('U0ADMIN001', 'admin');
export const ADMIN2 = slack('U0ADMIN002', 'admin');
export const RESPONDER = slack('U0RESP0001', 'responder');
export const ANALYST = slack('U0ANALYST1', 'analyst');
export const NOBODY = slack('U0NOBODY01');

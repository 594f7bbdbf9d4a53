import type { ReleaseRefusal } from '../../core/lockdown/release-lockdown.js';
import type { RequestRefusal } from '../../core/lockdown/request-lockdown.js';

// The REST adapter's mapping table (STYLE "Errors"): each core refusal gets its HTTP status here;
// the sentences are beside the routes that use them.

export const requestRefusalStatus: Record<RequestRefusal, number> = {
  forbidden: 403,
  containment_disabled: 409,
  break_glass_forbidden: 403,
  selective_unsupported: 409,
  no_approver_channel: 503,
  bad_duration: 400,
  not_found: 404,
  inexact: 404,
  ambiguous: 409,
  already_open: 409,
  isolated_outside: 409,
  not_onboarded: 409,
  merged: 409,
  capped: 429,
  excluded: 409,
  defender_not_configured: 503,
  defender_paused: 503,
  defender_failed: 503,
};

export const releaseRefusalStatus: Record<ReleaseRefusal, number> = {
  forbidden: 403,
  not_found: 404,
  not_open: 409,
  already_releasing: 409,
};

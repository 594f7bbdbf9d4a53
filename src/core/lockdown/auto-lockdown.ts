import type { Host } from '../hosts/types.js';
import type { Actor } from '../permissions.js';
import type { Settings } from '../settings/settings.js';
import { isExcluded } from './exclusions.js';
import type { LockdownDeps } from './ports.js';
import { requestLockdown } from './request-lockdown.js';
import type { AutoTrigger } from './types.js';

/** A host's scores as a feed sends them (DESIGN §3.6): threat and certainty 0–99, privilege 1–10. */
export interface HostScore {
  threat: number;
  certainty: number;
  privilege: number;
  computedAt: Date;
}

/** Why automation held back and told people (`auto.suppressed`). */
export type SuppressReason = 'excluded' | 'dry_run' | 'cap' | 'lookup_only';

export interface Suppression {
  why: SuppressReason;
  host: Host;
  trigger: AutoTrigger;
  /** what it would have done, in words */
  detail: string;
}

export interface AutoDeps extends LockdownDeps {
  /**
   * Records an `auto.suppressed` (audit row, every time) and announces it in the sinks at most once
   * an hour per reason and host (per reason alone for the cap: one announcement for a whole flood).
   */
  suppress(s: Suppression): Promise<void>;
}

export type AutoOutcome =
  | 'auto_off'
  | 'before_thresholds'
  | 'below_threshold'
  | 'excluded'
  | 'already_locked'
  | 'isolated_outside'
  | 'dry_run'
  | 'capped'
  | 'locked'
  | 'pending_approval'
  | 'refused';

/** Automation acts as this system actor: it may request lockdowns, never approve them. */
export const AUTO_ACTOR: Actor = { kind: 'system', name: 'auto', permissions: new Set(['lockdown:edit']) };

/**
 * Judges one new score (issue #8): with auto-lockdown on and threat ≥ T, certainty ≥ C and
 * privilege ≥ P, computed after the thresholds were saved (new thresholds apply forward only), the
 * host is locked for the configured period through the same request as a person's (approval when
 * settings require it). Never: an excluded host, a host already locked or isolated outside
 * hostlock, beyond the hourly cap. Dry run announces what it would have locked and changes nothing.
 */
export async function judgeScore(
  deps: AutoDeps,
  host: Host,
  score: HostScore,
  sentBy?: { via: string; actor: string },
): Promise<{ outcome: AutoOutcome; lockdownId?: string; detail?: string }> {
  const s = await deps.settings();
  if (!s.autoEnabled) {
    return { outcome: 'auto_off' };
  }
  if (s.thresholdsSavedAt && score.computedAt.getTime() <= s.thresholdsSavedAt.getTime()) {
    return { outcome: 'before_thresholds' };
  }
  const thresholds = {
    threat: s.thresholdThreat,
    certainty: s.thresholdCertainty,
    privilege: s.thresholdPrivilege,
  };
  if (
    score.threat < thresholds.threat ||
    score.certainty < thresholds.certainty ||
    score.privilege < thresholds.privilege
  ) {
    return { outcome: 'below_threshold' };
  }
  const trigger: AutoTrigger = {
    threat: score.threat,
    certainty: score.certainty,
    privilege: score.privilege,
    computedAt: score.computedAt.toISOString(),
    thresholds,
    ...(sentBy ? { sentBy } : {}),
  };
  const rule = `threat ${score.threat} ≥ ${thresholds.threat}, certainty ${score.certainty} ≥ ${thresholds.certainty}, privilege ${score.privilege} ≥ ${thresholds.privilege}`;
  const hours = s.autoMinutes / 60;
  if (isExcluded(host, s)) {
    await deps.suppress({
      why: 'excluded',
      host,
      trigger,
      detail: `on the exclusion list; would have locked for ${hours} h (${rule})`,
    });
    return { outcome: 'excluded' };
  }
  if (await deps.lockdowns.openForMachine(host.machineId)) {
    return { outcome: 'already_locked' };
  }
  if (host.isolationState !== 'not_isolated' && host.isolationSource !== 'hostlock') {
    return { outcome: 'isolated_outside' };
  }
  if (s.autoDryRun) {
    await deps.suppress({
      why: 'dry_run',
      host,
      trigger,
      detail: `dry run: would have locked for ${hours} h (${rule})`,
    });
    return { outcome: 'dry_run' };
  }
  return lockFor(deps, { host, trigger, rule, hours, settings: s });
}

/** The automatic request itself, through the same verb as a person's, under the hourly cap. */
async function lockFor(
  deps: AutoDeps,
  o: { host: Host; trigger: AutoTrigger; rule: string; hours: number; settings: Settings },
): Promise<{ outcome: AutoOutcome; lockdownId?: string; detail?: string }> {
  const { host, trigger, rule, hours, settings: s } = o;
  const result = await requestLockdown(deps, {
    actor: AUTO_ACTOR,
    query: { kind: 'machine_id', value: host.machineId },
    durationHours: hours,
    reason: `automatic: ${rule}`,
    source: 'auto',
    channel: null,
    auto: { trigger, capPerHour: s.autoHourlyCap },
  });
  if (result.ok) {
    const l = result.value.lockdown;
    return { outcome: l.state === 'pending_approval' ? 'pending_approval' : 'locked', lockdownId: l.id };
  }
  if (result.error === 'capped') {
    await deps.suppress({
      why: 'cap',
      host,
      trigger,
      detail: `the cap of ${s.autoHourlyCap} automatic lockdowns an hour is reached; further hits are recorded, not locked (${rule})`,
    });
    return { outcome: 'capped' };
  }
  if (result.error === 'containment_disabled') {
    await deps.suppress({
      why: 'lookup_only',
      host,
      trigger,
      detail: `containment is off (lookup-only mode): would have locked for ${hours} h (${rule})`,
    });
    return { outcome: 'refused', detail: result.error };
  }
  if (result.error === 'already_open') {
    return { outcome: 'already_locked' };
  }
  if (result.error === 'isolated_outside') {
    return { outcome: 'isolated_outside' };
  }
  return { outcome: 'refused', detail: result.error };
}

import type { Host, IsolationState, OpenLockdown } from '../../core/hosts/types.js';
import { slackDate } from '../../core/mrkdwn.js';
import { actorMrkdwn, autoTriggerText, codeLiteral, DAY_MS, escaped, timeLeft } from './format.js';

/** A record unseen this long is more likely a retired or re-imaged twin than the live machine. */
const STALE_AFTER_DAYS = 7;
/** Defender health states in which the sensor is not talking, so isolation waits for it. */
const SILENT_HEALTH = new Set(['inactive', 'nosensordata', 'nosensordataimpairedcommunication']);

/** A host's isolation in a few words, for fallback text and list rows. */
export const ISOLATION_WORDS: Record<IsolationState, string> = {
  not_isolated: 'not isolated',
  isolating: 'isolating',
  isolated_by_hostlock: 'isolated by hostlock',
  isolated_outside: 'isolated outside hostlock',
  releasing: 'releasing',
};

const HEADLINE: Record<IsolationState, string> = {
  not_isolated: '*Not isolated*',
  isolating: '*Isolating…*',
  isolated_by_hostlock: '*Isolated by hostlock*',
  isolated_outside:
    '*Isolated outside hostlock* (Defender portal or another tool) — hostlock will not release it',
  releasing: '*Releasing…*',
};

const LOCKDOWN_WORDS: Record<string, string> = {
  pending_approval: 'awaiting approval',
  approved: 'approved, isolation starting',
  isolating: 'isolation in progress',
  active: 'active',
  releasing: 'release in progress',
};

const durationWords = (minutes: number): string =>
  minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;

/**
 * The isolation state in words, with who and how long for a hostlock lockdown; a second line
 * describes an open lockdown that is not (yet, or any more) simply active.
 */
export function isolationText(
  host: Host,
  lockdown: OpenLockdown | null,
  now: Date,
  lockedByName?: string,
): string {
  const who = lockdown ? actorMrkdwn(lockdown.requestedBy, lockedByName) : null;
  const left = lockdown?.expiresAt ? timeLeft(lockdown.expiresAt, now) : null;
  const headline = [HEADLINE[host.isolationState]];
  if (host.isolationState === 'isolated_by_hostlock') {
    headline.push(...(who ? [`locked by ${who}`] : []), ...(left ? [left] : []));
  }
  const lines = [headline.join(' · ')];
  if (lockdown && !(host.isolationState === 'isolated_by_hostlock' && lockdown.state === 'active')) {
    const state = LOCKDOWN_WORDS[lockdown.state] ?? escaped(lockdown.state, 40);
    const parts = [`Lockdown ${codeLiteral(lockdown.id)} ${state}`, `requested by ${who}`];
    parts.push(`for ${durationWords(lockdown.durationMinutes)}`);
    if (lockdown.approvedBy) {
      parts.push(`approved by ${actorMrkdwn(lockdown.approvedBy)}`);
    }
    if (left) {
      parts.push(left);
    }
    lines.push(parts.join(' · '));
  }
  if (lockdown?.trigger) {
    lines.push(autoTriggerText(lockdown.trigger));
  }
  return lines.join('\n');
}

/** A reason to think twice before locking this record: a few words for lists, a sentence for cards. */
export interface HostWarning {
  short: string;
  long: string;
}

/** Everything about the record that suggests it is the wrong twin or cannot be isolated now. */
export function hostWarnings(host: Host, now: Date): HostWarning[] {
  const out: HostWarning[] = [];
  if (host.isPotentialDuplicate) {
    out.push({
      short: 'possible duplicate',
      long: 'Defender marks this record as a possible duplicate: check the machine id before locking.',
    });
  }
  if (host.mergedIntoMachineId) {
    const into = codeLiteral(host.mergedIntoMachineId);
    out.push({ short: 'merged', long: `Defender merged this record into ${into}: use that record.` });
  }
  if (host.lastSeen && now.getTime() - host.lastSeen.getTime() > STALE_AFTER_DAYS * DAY_MS) {
    const days = Math.floor((now.getTime() - host.lastSeen.getTime()) / DAY_MS);
    const long = `Not seen for ${days} days: it may be a retired or re-imaged twin.`;
    out.push({ short: `not seen for ${days} days`, long });
  }
  if (host.goneAt) {
    out.push({ short: 'gone', long: `No longer listed by Defender (since ${slackDate(host.goneAt)}).` });
  }
  if (host.onboardingStatus && host.onboardingStatus.toLowerCase() !== 'onboarded') {
    const status = escaped(host.onboardingStatus, 60);
    out.push({ short: 'not onboarded', long: `Not onboarded (${status}): Defender cannot isolate it.` });
  }
  if (host.healthStatus && SILENT_HEALTH.has(host.healthStatus.toLowerCase())) {
    const status = escaped(host.healthStatus, 60);
    out.push({ short: 'inactive', long: `Sensor health is ${status}: isolation may stay pending for days.` });
  }
  return out;
}

import { z } from 'zod';
import type { DefenderAction, DefenderActionStatus, DefenderMachine } from '../core/defender.js';
import { storable } from '../core/storable-text.js';

// Shapes of Defender's answers (mde-api.md §4, §6.4). Unknown fields are tolerated; fields the docs
// mark as drifting (osVersion null, lastUpdateTimeUtc vs lastUpdateDateTimeUtc) are optional.
// A machine is checked for the fields hostlock uses and the rest is left behind (z.object strips,
// where z.looseObject would copy every other field of 100 000 records a sync).

const str = z.string().nullish();
/** A machine record that does not have the shape hostlock reads: which field, and why. */
export interface MachineIssue {
  issue: string;
}

const STRING_FIELDS = [
  'computerDnsName',
  'osPlatform',
  'osVersion',
  'version',
  'lastIpAddress',
  'healthStatus',
  'onboardingStatus',
  'riskScore',
  'exposureLevel',
  'deviceValue',
  'mergedIntoMachineId',
] as const;

type RawMachine = Record<string, unknown>;
const isRecord = (v: unknown): v is RawMachine => typeof v === 'object' && v !== null && !Array.isArray(v);
const nullish = (v: unknown) => v === null || v === undefined;
const date = (v: unknown) => {
  if (typeof v !== 'string' || v === '') {
    return null;
  }
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

// A device reports its own name: text PostgreSQL cannot hold would fail the write of every
// machine listed with it, so every string read here goes through `storable`.
export { storable };

const storableOrNull = (s: string | null | undefined): string | null =>
  nullish(s) ? null : storable(s as string);

/**
 * Checks the fields hostlock uses of one machine record (mde-api.md §4) and maps it, leaving the
 * rest behind; a field of the wrong type makes the whole record an issue. Written by hand rather
 * than with zod: a sync reads 100 000 of these, and zod's parse kept every record alive past a
 * young-generation collection (2.3 MB promoted per scavenge, measured), which is what grew the
 * sync's peak RSS.
 */
export function readMachine(raw: unknown): DefenderMachine | MachineIssue {
  if (!isRecord(raw)) {
    return { issue: 'not an object' };
  }
  const m = raw as RawMachine & Partial<Record<(typeof STRING_FIELDS)[number], string | null>>;
  if (typeof m.id !== 'string' || m.id === '') {
    return { issue: 'id: not a non-empty string' };
  }
  if (storable(m.id) !== m.id) {
    return { issue: 'id: holds NUL or an unpaired surrogate' };
  }
  for (const f of STRING_FIELDS) {
    if (!nullish(m[f]) && typeof m[f] !== 'string') {
      return { issue: `${f}: not a string` };
    }
  }
  for (const f of ['firstSeen', 'lastSeen'] as const) {
    if (!nullish(m[f]) && typeof m[f] !== 'string') {
      return { issue: `${f}: not a string` };
    }
  }
  const ips: string[] = [];
  if (!nullish(m.ipAddresses)) {
    if (!Array.isArray(m.ipAddresses)) {
      return { issue: 'ipAddresses: not an array' };
    }
    for (const a of m.ipAddresses as unknown[]) {
      if (!isRecord(a) || !(nullish(a.ipAddress) || typeof a.ipAddress === 'string')) {
        return { issue: 'ipAddresses: an entry without a string ipAddress' };
      }
      if (a.ipAddress) {
        ips.push(storable(a.ipAddress as string));
      }
    }
  }
  let tags: string[] = [];
  if (!nullish(m.machineTags)) {
    if (!Array.isArray(m.machineTags) || !m.machineTags.every((t) => typeof t === 'string')) {
      return { issue: 'machineTags: not an array of strings' };
    }
    tags = (m.machineTags as string[]).map(storable);
  }
  if (!nullish(m.isPotentialDuplication) && typeof m.isPotentialDuplication !== 'boolean') {
    return { issue: 'isPotentialDuplication: not a boolean' };
  }
  const lastIp = storableOrNull(m.lastIpAddress);
  if (lastIp && !ips.includes(lastIp)) {
    ips.unshift(lastIp);
  }
  return {
    machineId: m.id,
    name: storableOrNull(m.computerDnsName) ?? '',
    osPlatform: storableOrNull(m.osPlatform),
    // `version` carries the release where `osVersion` is null (§8.13)
    osVersion: storableOrNull(m.osVersion ?? m.version),
    ips: [...new Set(ips)],
    lastIp,
    healthStatus: storableOrNull(m.healthStatus),
    onboardingStatus: storableOrNull(m.onboardingStatus),
    riskScore: storableOrNull(m.riskScore),
    exposureLevel: storableOrNull(m.exposureLevel),
    deviceValue: storableOrNull(m.deviceValue),
    firstSeen: date(m.firstSeen),
    lastSeen: date(m.lastSeen),
    tags,
    isPotentialDuplicate: (m.isPotentialDuplication as boolean | null | undefined) ?? false,
    mergedIntoMachineId: storableOrNull(m.mergedIntoMachineId),
  };
}

export const isMachineIssue = (r: DefenderMachine | MachineIssue): r is MachineIssue => 'issue' in r;

export const MachineListSchema = z.looseObject({
  value: z.array(z.unknown()),
  '@odata.nextLink': z.string().nullish(),
});

const STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'TimeOut', 'Cancelled'] as const;

export const MachineActionSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string(),
  scope: str,
  status: z.enum(STATUSES),
  requestor: str,
  requestorComment: str,
  machineId: z.string(),
  creationDateTimeUtc: z.string(),
  lastUpdateDateTimeUtc: str,
  lastUpdateTimeUtc: str,
});

export const ActionListSchema = z.looseObject({
  value: z.array(MachineActionSchema),
  '@odata.nextLink': z.string().nullish(),
});

export const ErrorBodySchema = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string().nullish(), target: z.string().nullish() }),
});

export function toAction(a: z.infer<typeof MachineActionSchema>): DefenderAction {
  const updated = a.lastUpdateDateTimeUtc ?? a.lastUpdateTimeUtc;
  return {
    id: a.id,
    machineId: a.machineId,
    type: a.type,
    scope: a.scope ?? null,
    status: a.status as DefenderActionStatus,
    requestor: a.requestor ?? null,
    comment: a.requestorComment ?? null,
    createdAt: new Date(a.creationDateTimeUtc),
    updatedAt: updated ? new Date(updated) : null,
  };
}

import { z } from 'zod';
import type { DefenderAction, DefenderActionStatus, DefenderMachine } from '../core/defender.js';

// Shapes of Defender's answers (mde-api.md §4, §6.4). Unknown fields are tolerated; fields the docs
// mark as drifting (osVersion null, lastUpdateTimeUtc vs lastUpdateDateTimeUtc) are optional.

const str = z.string().nullish();
const isoDate = z
  .string()
  .nullish()
  .transform((s) => {
    if (!s) {
      return null;
    }
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  });

export const MachineSchema = z.looseObject({
  id: z.string().min(1),
  computerDnsName: str,
  firstSeen: isoDate,
  lastSeen: isoDate,
  osPlatform: str,
  osVersion: str,
  version: str,
  lastIpAddress: str,
  ipAddresses: z
    .array(z.looseObject({ ipAddress: z.string().nullish() }))
    .nullish()
    .transform((a) => a ?? []),
  healthStatus: str,
  onboardingStatus: str,
  riskScore: str,
  exposureLevel: str,
  deviceValue: str,
  machineTags: z
    .array(z.string())
    .nullish()
    .transform((a) => a ?? []),
  isPotentialDuplication: z.boolean().nullish(),
  mergedIntoMachineId: str,
});

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

/** Defender's machine → hostlock's. `version` carries the release where `osVersion` is null (§8.13). */
export function toMachine(m: z.infer<typeof MachineSchema>): DefenderMachine {
  const ips = m.ipAddresses.map((a) => a.ipAddress).filter((ip): ip is string => !!ip);
  if (m.lastIpAddress && !ips.includes(m.lastIpAddress)) {
    ips.unshift(m.lastIpAddress);
  }
  return {
    machineId: m.id,
    name: m.computerDnsName ?? '',
    osPlatform: m.osPlatform ?? null,
    osVersion: m.osVersion ?? m.version ?? null,
    ips: [...new Set(ips)],
    lastIp: m.lastIpAddress ?? null,
    healthStatus: m.healthStatus ?? null,
    onboardingStatus: m.onboardingStatus ?? null,
    riskScore: m.riskScore ?? null,
    exposureLevel: m.exposureLevel ?? null,
    deviceValue: m.deviceValue ?? null,
    firstSeen: m.firstSeen,
    lastSeen: m.lastSeen,
    tags: m.machineTags,
    isPotentialDuplicate: m.isPotentialDuplication ?? false,
    mergedIntoMachineId: m.mergedIntoMachineId ?? null,
  };
}

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

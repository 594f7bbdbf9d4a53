import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isMachineIssue, readMachine } from '../../src/mde/schemas.js';

/*
 * readMachine is hand-written for speed and memory (a sync reads 100 000 records). It must accept,
 * refuse and map exactly as the declarative description of the fields hostlock reads
 * (mde-api.md §4: strings that Defender may send as null or leave out, ISO dates, the IP list,
 * tags, the duplicate flag), which is written here with zod as the reference.
 */

// Text PostgreSQL can store: NUL and unpaired surrogates become U+FFFD (String#toWellFormed, ES2024)
const wellFormed = (s: string) =>
  (s as unknown as { toWellFormed(): string }).toWellFormed().replaceAll('\u0000', '\uFFFD');
const text = z.string().transform(wellFormed);
const str = text.nullish();
const isoDate = z
  .string()
  .nullish()
  .transform((s) => {
    const d = s ? new Date(s) : null;
    return d && !Number.isNaN(d.getTime()) ? d : null;
  });
const Reference = z.object({
  id: z
    .string()
    .min(1)
    .refine((id) => wellFormed(id) === id),
  computerDnsName: str,
  firstSeen: isoDate,
  lastSeen: isoDate,
  osPlatform: str,
  osVersion: str,
  version: str,
  lastIpAddress: str,
  ipAddresses: z.array(z.object({ ipAddress: str })).nullish(),
  healthStatus: str,
  onboardingStatus: str,
  riskScore: str,
  exposureLevel: str,
  deviceValue: str,
  machineTags: z.array(text).nullish(),
  isPotentialDuplication: z.boolean().nullish(),
  mergedIntoMachineId: str,
});

function reference(raw: unknown) {
  const r = Reference.safeParse(raw);
  if (!r.success) {
    return 'refused';
  }
  const m = r.data;
  const ips = (m.ipAddresses ?? []).map((a) => a.ipAddress).filter((ip): ip is string => !!ip);
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
    tags: m.machineTags ?? [],
    isPotentialDuplicate: m.isPotentialDuplication ?? false,
    mergedIntoMachineId: m.mergedIntoMachineId ?? null,
  };
}

const FIELDS = [
  'id',
  'computerDnsName',
  'firstSeen',
  'lastSeen',
  'osPlatform',
  'osVersion',
  'version',
  'lastIpAddress',
  'ipAddresses',
  'healthStatus',
  'onboardingStatus',
  'riskScore',
  'exposureLevel',
  'deviceValue',
  'machineTags',
  'isPotentialDuplication',
  'mergedIntoMachineId',
  'vmMetadata',
] as const;

// Each field: usually a plausible value, sometimes any JSON value, sometimes absent.
const scalar = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ maxLength: 8, unit: 'binary' }),
  fc.constantFrom('a\u0000b', '\ud800', 'x\udc00', '\ud83d\ude00'),
  fc.constantFrom('', '10.0.0.1', '2026-12-01T10:00:00Z', 'not a date', '2026-13-45T99:00:00Z'),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const anyJson = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.array(fc.dictionary(fc.constantFrom('ipAddress', 'macAddress'), scalar), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), scalar, { maxKeys: 2 }),
);
const record = fc.record(Object.fromEntries(FIELDS.map((f) => [f, anyJson])), { requiredKeys: [] });

describe('readMachine', () => {
  it('accepts, refuses and maps every record as the reference description does', () => {
    fc.assert(
      fc.property(fc.oneof(record, anyJson), (raw) => {
        const got = readMachine(raw);
        expect(isMachineIssue(got) ? 'refused' : got).toEqual(reference(raw));
      }),
      { numRuns: 5_000 },
    );
  });

  it('names the field that is wrong', () => {
    expect(readMachine({ id: 'a', healthStatus: { nested: 1 } })).toEqual({
      issue: 'healthStatus: not a string',
    });
    expect(readMachine({ id: '' })).toEqual({ issue: 'id: not a non-empty string' });
    expect(readMachine([])).toEqual({ issue: 'not an object' });
    expect(readMachine({ id: 'a\u0000' })).toEqual({ issue: 'id: holds NUL or an unpaired surrogate' });
  });

  it('makes text PostgreSQL cannot store (NUL, an unpaired surrogate) U+FFFD, keeping the rest', () => {
    const m = readMachine({
      id: 'abc',
      computerDnsName: 'evil\u0000host',
      osPlatform: '\ud800Linux',
      machineTags: ['ok', 'tag\udc00'],
      ipAddresses: [{ ipAddress: '10.0.0.1\u0000' }],
    });
    expect(m).toMatchObject({
      name: 'evil\uFFFDhost',
      osPlatform: '\uFFFDLinux',
      tags: ['ok', 'tag\uFFFD'],
      ips: ['10.0.0.1\uFFFD'],
    });
  });
});

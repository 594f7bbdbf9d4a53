import { createHash } from 'node:crypto';
import type { MdeIpAddress, MdeMachine } from './types.js';

const DAY_MS = 86_400_000;

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** A GUID-shaped string derived from `seed`, so generated fleets are deterministic. */
export function guidFrom(seed: string): string {
  const h = sha1(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function macFrom(seed: string): string {
  const h = sha1(`mac:${seed}`);
  return (h.slice(0, 12).match(/../g) ?? []).join('').toUpperCase();
}

/** NICs as a real Windows device reports them: IPv4, link-local IPv6 and loopback (§4, §9). */
export function nicAddresses(ip: string, seed: string): MdeIpAddress[] {
  const mac = macFrom(seed);
  return [
    { ipAddress: ip, macAddress: mac, type: 'Ethernet', operationalStatus: 'Up' },
    {
      ipAddress: `fe80::${seed.length.toString(16)}:${mac.slice(0, 4).toLowerCase()}`,
      macAddress: mac,
      type: 'Ethernet',
      operationalStatus: 'Up',
    },
    { ipAddress: '127.0.0.1', macAddress: null, type: 'SoftwareLoopback', operationalStatus: 'Up' },
    { ipAddress: '::1', macAddress: null, type: 'SoftwareLoopback', operationalStatus: 'Up' },
  ];
}

/** An address in the /16 `net` for index `n` (factory, generated and sample fleets use distinct nets). */
export function ipFor(net: string, n: number): string {
  return `${net}.${((n + 10) >> 8) & 255}.${(n + 10) & 255}`;
}

/** Builds a machine for index `n`; `seed` makes the id stable. Defaults follow the §4 observed values. */
export function buildMachine(seed: string, name: string, ip: string, n: number, now: Date): MdeMachine {
  const nowMs = now.getTime();
  return {
    id: sha1(seed),
    mergedIntoMachineId: null,
    isPotentialDuplication: false,
    isExcluded: false,
    exclusionReason: null,
    computerDnsName: name,
    firstSeen: new Date(nowMs - 90 * DAY_MS).toISOString(),
    lastSeen: new Date(nowMs - 2 * 3_600_000).toISOString(),
    osPlatform: 'Windows11',
    osVersion: null,
    version: '23H2',
    osProcessor: 'x64',
    osArchitecture: '64-bit',
    osBuild: 22631,
    agentVersion: '10.8760.22631.4317',
    lastIpAddress: ip,
    lastExternalIpAddress: `203.0.113.${(n % 250) + 1}`,
    ipAddresses: nicAddresses(ip, seed),
    healthStatus: 'Active',
    onboardingStatus: 'Onboarded',
    riskScore: 'Low',
    exposureLevel: 'Medium',
    deviceValue: 'Normal',
    rbacGroupId: 0,
    rbacGroupName: null,
    isAadJoined: true,
    aadDeviceId: guidFrom(`aad:${seed}`),
    machineTags: [],
    defenderAvStatus: 'Updated',
    managedBy: 'Intune',
    managedByStatus: 'Unknown',
    vmMetadata: null,
  };
}

const GENERATED_PLATFORMS = [
  { osPlatform: 'Windows11', version: '23H2', osBuild: 22631 },
  { osPlatform: 'Windows10', version: '22H2', osBuild: 19045 },
  { osPlatform: 'WindowsServer2022', version: '21H2', osBuild: 20348 },
  { osPlatform: 'Linux', version: '22.04', osBuild: null },
  { osPlatform: 'macOS', version: '14.5', osBuild: null },
] as const;

/** `count` machines named `<prefix>-<n>`, ids derived from prefix and index; fast for tens of thousands. */
export function generateMachines(count: number, prefix: string, now: Date): MdeMachine[] {
  const out: MdeMachine[] = [];
  for (let i = 0; i < count; i++) {
    const m = buildMachine(`${prefix}:${i}`, `${prefix}-${i}`, ipFor('10.20', i), i, now);
    const p = GENERATED_PLATFORMS[i % GENERATED_PLATFORMS.length] ?? GENERATED_PLATFORMS[0];
    m.osPlatform = p.osPlatform;
    m.version = p.version;
    m.osBuild = p.osBuild;
    if (p.osPlatform === 'Linux' || p.osPlatform === 'macOS') {
      m.agentVersion = '101.24082.0004';
      m.aadDeviceId = null;
      m.isAadJoined = false;
    }
    if (i % 17 === 0) {
      m.healthStatus = 'Inactive';
    }
    out.push(m);
  }
  return out;
}

/**
 * The awkward records of the §9 checklist: an FQDN host with a potential duplicate and a merged
 * record, a short-name device, an inactive laptop sharing an IP with it (DHCP reuse), a discovered
 * (CanBeOnboarded) printer, Linux, an old and a current macOS agent, and a cloud VM in a device group.
 */
export function sampleFleet(now: Date): MdeMachine[] {
  const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * DAY_MS).toISOString();
  const web = buildMachine('sample:web-01', 'web-01.contoso.com', ipFor('192.168', 1), 1, now);
  Object.assign(web, {
    osPlatform: 'WindowsServer2022',
    version: '21H2',
    osBuild: 20348,
    deviceValue: 'High',
  });
  Object.assign(web, { isAadJoined: false, aadDeviceId: null, managedBy: 'MicrosoftDefenderForEndpoint' });
  const webDup = buildMachine('sample:web-01-dup', 'web-01.contoso.com', ipFor('192.168', 2), 2, now);
  Object.assign(webDup, { osPlatform: 'WindowsServer2022', isPotentialDuplication: true, lastSeen: at(20) });
  const webMerged = buildMachine('sample:web-01-old', 'web-01.contoso.com', ipFor('192.168', 3), 3, now);
  Object.assign(webMerged, {
    osPlatform: 'WindowsServer2022',
    mergedIntoMachineId: web.id,
    lastSeen: at(45),
  });
  const desktop = buildMachine('sample:se-pov-desktop', 'se-pov-desktop', ipFor('192.168', 4), 4, now);
  Object.assign(desktop, {
    riskScore: 'High',
    machineTags: ['Finance', 'VIP'],
    isAadJoined: true,
    aadDeviceId: null,
  });
  const laptop = buildMachine('sample:lt-0042', 'lt-0042.contoso.com', ipFor('192.168', 5), 5, now);
  Object.assign(laptop, { healthStatus: 'Inactive', lastSeen: at(9), lastIpAddress: desktop.lastIpAddress });
  laptop.ipAddresses = nicAddresses(desktop.lastIpAddress, 'sample:lt-0042');
  const printer = buildMachine('sample:printer', '', ipFor('192.168', 6), 6, now);
  Object.assign(printer, {
    onboardingStatus: 'CanBeOnboarded',
    osPlatform: 'Unknown',
    version: '',
    osBuild: null,
    agentVersion: '',
    healthStatus: 'Unknown',
    riskScore: 'None',
    isAadJoined: false,
    aadDeviceId: null,
    defenderAvStatus: 'Unknown',
    managedBy: 'Unknown',
  });
  const linux = buildMachine('sample:db-01', 'db-01.contoso.com', ipFor('192.168', 7), 7, now);
  Object.assign(linux, {
    osPlatform: 'Linux',
    version: '22.04',
    osBuild: null,
    agentVersion: '101.24082.0004',
  });
  Object.assign(linux, { isAadJoined: false, aadDeviceId: null, machineTags: ['Production'] });
  const macOld = buildMachine('sample:mac-old', 'design-mac-01', ipFor('192.168', 8), 8, now);
  Object.assign(macOld, { osPlatform: 'macOS', version: '12.7', osBuild: null, agentVersion: '101.98.30' });
  const macNew = buildMachine('sample:mac-new', 'design-mac-02', ipFor('192.168', 9), 9, now);
  Object.assign(macNew, {
    osPlatform: 'macOS',
    version: '14.5',
    osBuild: null,
    agentVersion: '101.24082.0004',
  });
  const vm = buildMachine('sample:vm-app-01', 'vm-app-01.contoso.com', ipFor('192.168', 10), 10, now);
  Object.assign(vm, { osPlatform: 'WindowsServer2019', version: '1809', osBuild: 17763 });
  Object.assign(vm, { rbacGroupId: 42, rbacGroupName: 'Servers', machineTags: ['Production', 'Azure'] });
  vm.vmMetadata = {
    vmId: guidFrom('vm:vm-app-01'),
    cloudProvider: 'Azure',
    resourceId:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/app/providers/Microsoft.Compute/virtualMachines/vm-app-01',
    subscriptionId: '00000000-0000-0000-0000-000000000000',
  };
  return [web, webDup, webMerged, desktop, laptop, printer, linux, macOld, macNew, vm];
}

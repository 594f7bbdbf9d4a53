import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { hostsWithIpAt, IP_HISTORY_DAYS, type IpAtProblem, parseIpAt } from '../../core/hosts/ip-history.js';
import type { LockdownDeps } from '../../core/lockdown/ports.js';
import { actorId } from '../../core/permissions.js';
import type { ApiCaller } from '../auth.js';
import { apiError } from '../http.js';
import { sendJson } from '../server.js';

/** One device Defender saw with the IP, with its facts as the inventory now holds them. */
export const HostAtIp = z.object({
  machine_id: z.string(),
  name: z.string(),
  os_platform: z.string().nullable(),
  ips: z.array(z.string()),
  isolation_state: z.string(),
  last_seen: z.string().nullable().meta({ description: 'RFC 3339 UTC' }),
});

export const HostsAtIpAnswer = z.object({
  ip: z.string(),
  from: z.string().meta({ description: 'the window Defender searched: at − 15 min (RFC 3339 UTC)' }),
  to: z.string().meta({ description: 'at + 15 min' }),
  hosts: z.array(HostAtIp),
});

const PROBLEMS: Record<IpAtProblem, string> = {
  not_an_ip: 'ip must be an IPv4 or IPv6 address.',
  bad_time: 'at must be a date and time with its zone, e.g. 2026-12-01T10:00Z.',
  future: 'at is in the future: ask about a past time.',
  too_old: `at must be within the past ${IP_HISTORY_DAYS} days (Defender's IP history).`,
};

/**
 * `GET /api/v2.1/host?ip=…&at=…` (scope lockdown:view, issue #18 item 4): the devices Defender saw
 * with that internal IP in the ±15 min around `at`, spending the lookup quota of the token's creator.
 */
export async function hostsAtIp(
  deps: { lockdown: LockdownDeps },
  caller: ApiCaller,
  url: URL,
  res: ServerResponse,
): Promise<void> {
  const ip = url.searchParams.get('ip') ?? '';
  const at = url.searchParams.get('at') ?? '';
  if (!ip || !at) {
    apiError(res, 400, 'bad_query', 'Give ip and at, e.g. ?ip=10.1.2.3&at=2026-12-01T10:00Z.');
    return;
  }
  const when = parseIpAt(ip, at, deps.lockdown.clock.now());
  if (typeof when === 'string') {
    apiError(res, 400, when, PROBLEMS[when]);
    return;
  }
  const d = deps.lockdown;
  const r = await hostsWithIpAt(
    { hosts: d.hosts, defender: d.defender, clock: d.clock },
    {
      ip: when.ip,
      at: when.at,
      who: actorId(caller.actor),
      ...(d.lookupGuard ? { guard: d.lookupGuard } : {}),
    },
  );
  if (r.defenderProblem === 'busy') {
    res.setHeader('retry-after', '60');
    apiError(
      res,
      429,
      'lookup_quota',
      'This token has asked Defender about many hosts lately; retry in a minute.',
    );
    return;
  }
  if (r.defenderProblem) {
    apiError(
      res,
      503,
      `defender_${r.defenderProblem}`,
      'Defender could not be asked just now; try again later.',
    );
    return;
  }
  sendJson(res, 200, {
    ip: when.ip,
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    hosts: r.hosts.map((h) => ({
      machine_id: h.machineId,
      name: h.name,
      os_platform: h.osPlatform,
      ips: h.ips,
      isolation_state: h.isolationState,
      last_seen: h.lastSeen?.toISOString() ?? null,
    })),
  } satisfies z.infer<typeof HostsAtIpAnswer>);
}

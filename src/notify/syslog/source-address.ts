import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { beforeDeadline } from '../../core/deadline.js';

/** How long the address found for a target is kept (routes and DHCP leases change rarely). */
export const SOURCE_ADDRESS_TTL_MS = 5 * 60_000;

/**
 * This instance's address as a syslog receiver sees it (Vectra's `headend_addr` / CEF `dvc`): the
 * configured one, else the local address of the route to the target, found by connecting a UDP
 * socket to it (which sends nothing) and reading its local end. `null` when there is no route.
 */
export function sourceAddresses(o: { configured?: string | undefined; now?: () => number }) {
  const now = o.now ?? Date.now;
  const found = new Map<string, { address: string | null; until: number }>();
  return async (target: { host: string; port: number }): Promise<string | null> => {
    if (o.configured) {
      return o.configured;
    }
    const key = `${target.host}:${target.port}`;
    const hit = found.get(key);
    if (hit && hit.until > now()) {
      return hit.address;
    }
    const address = await localAddressTowards(target.host, target.port).catch(() => null);
    found.set(key, { address, until: now() + SOURCE_ADDRESS_TTL_MS });
    return address;
  };
}

/** A name the resolver has not answered in this long is taken as unknown (the line goes without it). */
export const LOOKUP_TIMEOUT_MS = 2_000;

async function localAddressTowards(host: string, port: number): Promise<string | null> {
  const to = await beforeDeadline(lookup(host.replace(/^\[|\]$/g, '')), LOOKUP_TIMEOUT_MS, () => {
    throw new Error(`no address for ${host} within ${LOOKUP_TIMEOUT_MS} ms`);
  });
  const socket = createSocket(to.family === 6 ? 'udp6' : 'udp4');
  return new Promise<string | null>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, to.address, () => {
      const { address } = socket.address();
      resolve(isIP(address) ? address : null);
    });
  }).finally(() => socket.close());
}

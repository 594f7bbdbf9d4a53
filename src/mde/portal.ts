import { MDE_CLOUDS, type MdeCloud } from './clouds.js';

/** The Defender portal page of a machine, in the configured cloud's portal (mde/clouds.ts). */
export function portalLinkFor(cloud: MdeCloud): (machineId: string) => string {
  const portal = MDE_CLOUDS[cloud].portal;
  return (machineId) => `${portal}/machines/${encodeURIComponent(machineId)}`;
}

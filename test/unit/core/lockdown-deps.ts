import type { Defender } from '../../../src/core/defender.js';
import type { Host } from '../../../src/core/hosts/types.js';
import type { AutoDeps, Suppression } from '../../../src/core/lockdown/auto-lockdown.js';
import { DEFAULT_TIMING } from '../../../src/core/lockdown/ports.js';
import { DEFAULT_SETTINGS, type Settings } from '../../../src/core/settings/settings.js';
import type { AuditEntry } from '../../../src/core/store.js';
import { memoryHosts, memoryLockdowns } from '../../helpers/memory/lockdowns.js';

/** A Defender that must not be called: the verbs under test decide from the rows alone. */
const untouchable = new Proxy({} as Defender, {
  // not a thenable: `await` must see a plain object
  get: (_t, name) =>
    name === 'then' ? undefined : () => Promise.reject(new Error(`Defender.${String(name)} called`)),
});

/** Lockdown ports in memory, with a clock the test moves. */
export function lockdownDeps(o: { hosts?: Host[]; settings?: Partial<Settings> } = {}) {
  let now = new Date('2026-12-01T10:00:00Z');
  const clock = { now: () => now };
  const lockdowns = memoryLockdowns({ now: () => now });
  const denials: AuditEntry[] = [];
  const announced: string[] = [];
  const woken: Array<{ id: string; at: Date }> = [];
  const suppressed: Suppression[] = [];
  const settings: Settings = { ...DEFAULT_SETTINGS, ...o.settings };
  const deps: AutoDeps = {
    lockdowns,
    hosts: memoryHosts(o.hosts ?? []),
    defender: async () => untouchable,
    settings: async () => settings,
    clock,
    announce: {
      requested: async () => ({ thread: null }),
      requestedMany: async () => ({ thread: { channel: 'CAPPROVE', ts: '1.000001' } }),
      escalated: async () => void announced.push('lockdown.escalated'),
    },
    audit: {
      append: async (e) => void denials.push(e),
      serialize: async () => {},
      countRefusal: async () => ({ first: true, previousWindow: 0 }),
      recentlyAnnounced: async () => false,
    },
    wake: async (id, at) => void woken.push({ id, at }),
    timing: DEFAULT_TIMING,
    suppress: async (s) => void suppressed.push(s),
  };
  return {
    deps,
    lockdowns,
    denials,
    announced,
    woken,
    suppressed,
    settings,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

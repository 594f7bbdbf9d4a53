import type { Clock } from '../clock.js';
import { autoSuppressedEvent } from '../events.js';
import type { Store } from '../store.js';
import type { Suppression } from './auto-lockdown.js';

/** A held-back hit is announced at most this often per reason and host (per reason for the cap). */
export const ANNOUNCE_EVERY_MS = 60 * 60_000;

/**
 * Automation held back (exclusion, dry run, hourly cap): always audited (`auto.suppressed`), and
 * announced in the sinks at most once an hour per reason and host, or per reason alone for the
 * cap (one announcement for a whole flood). The look-back and the write are serialised per key,
 * so concurrent hits from several requests or processes announce once.
 */
export async function recordSuppression(deps: { store: Store; clock: Clock }, s: Suppression): Promise<void> {
  const target =
    s.why === 'cap'
      ? { targetType: 'auto', targetId: 'hourly_cap' }
      : { targetType: 'host', targetId: s.host.machineId };
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.audit.serialize(`hostlock.auto.suppressed:${s.why}:${target.targetId}`);
    const announced = await tx.audit.recentlyAnnounced({
      ...target,
      action: 'auto.suppressed',
      why: s.why,
      since: new Date(now.getTime() - ANNOUNCE_EVERY_MS),
    });
    await tx.audit.append({
      actor: 'system:auto',
      action: 'auto.suppressed',
      ...target,
      outcome: 'denied',
      details: {
        why: s.why,
        machineId: s.host.machineId,
        host: s.host.name,
        rule: s.trigger,
        announced: !announced,
      },
    });
    if (!announced) {
      const host = {
        name: s.host.name,
        machineId: s.host.machineId,
        ...(s.host.ips.length ? { ips: s.host.ips } : {}),
      };
      await tx.outbox.enqueue([autoSuppressedEvent(host, s.detail, now)]);
    }
  });
}

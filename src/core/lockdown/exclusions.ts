import type { Host } from '../hosts/types.js';
import type { Settings } from '../settings/settings.js';
import { globMatch } from './glob.js';

/**
 * A machine the exclusion list protects, resolved when an admin saved the list: its id (which the
 * host cannot change), its name then, and the rule that matched.
 */
export interface ExclusionPin {
  machineId: string;
  name: string;
  rule: string;
}

type Identity = Pick<Host, 'machineId' | 'name' | 'tags'>;

/**
 * The first rule of the list a host matches: `id:<machine id>`, `tag:<Defender tag>`, or a host-name
 * glob (`dc-*`, against the full name and its first label). Names and tags can be set from the
 * device itself, so a match here protects nothing by itself (see {@link exclusionOf}).
 */
export function matchingRule(host: Identity, rules: readonly string[]): string | null {
  const name = host.name.toLowerCase();
  const short = name.split('.')[0] ?? name;
  const tags = new Set(host.tags.map((t) => t.toLowerCase()));
  for (const raw of rules) {
    const rule = raw.trim();
    const lower = rule.toLowerCase();
    if (!rule) {
      continue;
    }
    const hit = lower.startsWith('id:')
      ? host.machineId === lower.slice(3).trim()
      : lower.startsWith('tag:')
        ? tags.has(lower.slice(4).trim())
        : globMatch(rule, name) || globMatch(rule, short);
    if (hit) {
      return rule;
    }
  }
  return null;
}

/** The machines the rules match in the inventory now: what saving the list pins. */
export function pinExclusions(hosts: Iterable<Identity>, rules: readonly string[]): ExclusionPin[] {
  const pins: ExclusionPin[] = [];
  for (const h of hosts) {
    const rule = matchingRule(h, rules);
    if (rule) {
      pins.push({ machineId: h.machineId, name: h.name, rule });
    }
  }
  return pins;
}

export type Exclusion =
  | { exempt: true; pin: ExclusionPin }
  /** `nameOnly`: the host matches a rule by name or tag but was not pinned (renamed since?) */
  | { exempt: false; nameOnly: string | null };

/**
 * Whether the exclusion list protects this host: only a machine pinned when the list was saved
 * (issue #14, finding 3: malware renaming its host `dc-…` must not escape automatic lockdown). A
 * host that matches a rule by name or tag without being pinned is flagged, and not exempt.
 */
export function exclusionOf(
  host: Identity,
  s: Pick<Settings, 'autoExclusions' | 'autoExclusionPins'>,
): Exclusion {
  const pin = s.autoExclusionPins.find((p) => p.machineId === host.machineId);
  if (pin) {
    return { exempt: true, pin };
  }
  return { exempt: false, nameOnly: matchingRule(host, s.autoExclusions) };
}

export const isExcluded = (host: Identity, s: Pick<Settings, 'autoExclusions' | 'autoExclusionPins'>) =>
  exclusionOf(host, s).exempt;

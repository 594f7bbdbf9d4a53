import type { Host } from '../hosts/types.js';

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * Whether the exclusion list (settings, one entry per line) protects this host: a host-name glob
 * (`dc-*`, matched against the full name and its first label) or `tag:<Defender tag>`.
 */
export function isExcluded(host: Pick<Host, 'name' | 'tags'>, patterns: readonly string[]): boolean {
  const name = host.name.toLowerCase();
  const short = name.split('.')[0] ?? name;
  const tags = new Set(host.tags.map((t) => t.toLowerCase()));
  return patterns.some((raw) => {
    const p = raw.trim();
    if (!p) {
      return false;
    }
    if (p.toLowerCase().startsWith('tag:')) {
      return tags.has(p.slice(4).trim().toLowerCase());
    }
    const re = globToRegExp(p);
    return re.test(name) || re.test(short);
  });
}

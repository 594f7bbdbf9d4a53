import { MDE_ENDPOINT_SECRET } from './ports.js';
import { changedKeys, type Settings, storedValues } from './settings.js';

/** One changed setting, old → new; secrets are never shown, only that they were replaced. */
export interface SettingChange {
  field: string;
  from?: unknown;
  to?: unknown;
  secret?: true;
}

const SECRETS = new Set(['mde_client_secret', MDE_ENDPOINT_SECRET]);

/**
 * Every changed setting with its old and new value (issue #14: a settings editor's change is
 * audited and announced in full), and each credential by name: tenant and app ids old → new, the
 * secret as "replaced".
 */
export function describeChanges(
  before: Settings,
  patch: Record<string, unknown>,
  credentials: { stored: Record<string, string>; saved: Record<string, string> },
): SettingChange[] {
  const old = storedValues(before);
  const shownAs = (field: string, v: unknown) =>
    // pins are listed by machine name (with the id in the audit row's full change)
    field === 'auto_exclusion_pins' && Array.isArray(v)
      ? v.map((p: { name?: unknown }) => String(p.name))
      : v;
  const settings = changedKeys(before, patch).map((field) => ({
    field,
    from: shownAs(field, old[field]),
    to: shownAs(field, patch[field]),
  }));
  const creds = Object.entries(credentials.saved)
    .filter(([name]) => name !== MDE_ENDPOINT_SECRET)
    .map(
      ([field, to]): SettingChange =>
        SECRETS.has(field) ? { field, secret: true } : { field, from: credentials.stored[field] ?? null, to },
    );
  return [...settings, ...creds];
}

const MAX_VALUE = 80;

function shown(v: unknown): string {
  if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) {
    return 'none';
  }
  const text = Array.isArray(v)
    ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')
    : typeof v === 'object'
      ? JSON.stringify(v)
      : String(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** Pins in full, not cut: an admin must see every machine newly exempted. */
function pinsChange(c: SettingChange): string {
  const from = new Set(Array.isArray(c.from) ? c.from.map(String) : []);
  const to = Array.isArray(c.to) ? c.to.map(String) : [];
  const pinned = to.filter((n) => !from.has(n));
  const unpinned = [...from].filter((n) => !to.includes(n));
  return `exclusions now exempt ${pinned.length ? pinned.join(', ') : 'no new machine'}${
    unpinned.length ? `; no longer exempt ${unpinned.join(', ')}` : ''
  }`;
}

/** The changes in one line for the notification: `poll_minutes 15 → 30, mde_client_secret replaced`. */
export function changeSummary(changes: readonly SettingChange[]): string {
  if (changes.length === 0) {
    return 'changed: nothing';
  }
  return `changed: ${changes
    .map((c) =>
      c.secret
        ? `${c.field} replaced`
        : c.field === 'auto_exclusion_pins'
          ? pinsChange(c)
          : `${c.field} ${shown(c.from)} → ${shown(c.to)}`,
    )
    .join('; ')}`;
}

/** Longest exclusion pattern accepted (the settings form refuses longer ones). */
export const MAX_GLOB_LENGTH = 255;

/**
 * Case-insensitive glob match (`*` any run, `?` one character) without regular expressions: the
 * classic two-pointer walk that remembers only the last `*`, so its work is bounded by
 * pattern × text (255 × 255 at most here), never exponential as a backtracking regex is on
 * `*-*-*-*-x` (issue #14, finding 12). Patterns longer than {@link MAX_GLOB_LENGTH} match nothing.
 */
export function globMatch(pattern: string, text: string): boolean {
  if (pattern.length > MAX_GLOB_LENGTH) {
    return false;
  }
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let star = -1;
  let resume = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ti;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') {
    pi++;
  }
  return pi === p.length;
}

/**
 * Text hygiene shared by the syslog formatters. Every line we emit is exactly one line: no raw CR,
 * LF, NUL or other character a receiver or a viewer may take as a record or line break.
 */

/** U+FFFD, what an unsafe code point becomes where the format has no escape for it. */
export const REPLACEMENT = '\uFFFD';

/**
 * Code points that must never appear raw in a syslog line and that no format here can escape,
 * except JSON: C0 controls other than TAB (NUL cuts C strings; VT, FF split lines in viewers), DEL,
 * C1 controls (NEL U+0085 is a line break), LINE and PARAGRAPH SEPARATOR (U+2028/9 break JavaScript
 * and some viewers) and lone surrogates (UTF-8 cannot carry them). CR and LF are handled by each
 * format before this check (syslog.md §1.2, §3.2) and count as unsafe here too.
 */
export function isUnsafeCodePoint(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x09) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    (cp >= 0xd800 && cp <= 0xdfff)
  );
}

/** CRLF, CR and LF each become one space: how CEF header fields and SD values lose their line breaks. */
export function foldLineBreaks(value: string): string {
  return value.replace(/\r\n|\r|\n/g, ' ');
}

const isBlank = (ch: string | undefined) => ch === ' ' || ch === '\t';

/** Leading spaces and tabs removed, in linear time (a `/[ \t]+$/` regex backtracks quadratically). */
export function trimBlanksStart(value: string): string {
  let i = 0;
  while (isBlank(value[i])) {
    i++;
  }
  return value.slice(i);
}

/** Trailing spaces and tabs removed, in linear time. */
export function trimBlanksEnd(value: string): string {
  let i = value.length;
  while (i > 0 && isBlank(value[i - 1])) {
    i--;
  }
  return value.slice(0, i);
}

/** UTF-8 length of a string whose lone surrogates were already replaced. */
export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * Escapes `value` one code point at a time and stops before the escaped UTF-8 would pass
 * `maxBytes`, so a cut lands on a code-point boundary and never inside an escape sequence
 * (syslog.md §1.2: limits are bytes of the escaped value; a trailing lone `\` would escape what
 * follows). `escapeChar` receives each code point; unsafe ones should come back replaced.
 */
export function escapeWithin(
  value: string,
  escapeChar: (ch: string, cp: number) => string,
  maxBytes: number,
): string {
  let out = '';
  let bytes = 0;
  for (const ch of value) {
    const piece = escapeChar(ch, ch.codePointAt(0) ?? 0);
    const n = utf8Length(piece);
    if (bytes + n > maxBytes) {
      break;
    }
    out += piece;
    bytes += n;
  }
  return out;
}

/**
 * An RFC 5424 / RFC 3164 header token: printable US-ASCII (33–126) only, anything else (space,
 * controls, non-ASCII) replaced by `_` rather than escaped, cut to `max` characters, and NILVALUE
 * `-` when empty (syslog.md §3.1).
 */
export function headerToken(value: string | null | undefined, max: number): string {
  let out = '';
  for (const ch of value ?? '') {
    if (out.length >= max) {
      break;
    }
    const cp = ch.codePointAt(0) ?? 0;
    out += cp >= 33 && cp <= 126 ? ch : '_';
  }
  return out === '' ? '-' : out;
}

// Text PostgreSQL can hold: its `text` and `jsonb` refuse NUL, and UTF-16 cannot be written as
// UTF-8 with a surrogate unpaired (legal in JSON as `\u0000` / `\ud800`). Outside text (a device's
// own name, Defender's error messages) goes through this before it can reach a row.

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what is looked for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with NUL and unpaired surrogates made U+FFFD; the rest unchanged. */
export const storable = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

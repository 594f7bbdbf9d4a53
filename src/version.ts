import { readFileSync } from 'node:fs';

/** hostlock's version from package.json (CEF Device Version, JSON `version`, User-Agent). */
export const HOSTLOCK_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

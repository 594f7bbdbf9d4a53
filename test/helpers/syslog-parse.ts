/**
 * Strict parsers for what hostlock emits, written from shared/reference/syslog.md (not from the
 * formatters): they throw on anything the reference forbids, so a formatter bug shows up as a parse
 * error or a value that does not round-trip.
 */

/** Throws when `line` holds a raw code point that may break a line or a C string anywhere. */
export function assertOneLine(line: string): void {
  for (const ch of line) {
    const cp = ch.codePointAt(0) ?? 0;
    const bad =
      (cp < 0x20 && cp !== 0x09) ||
      (cp >= 0x7f && cp <= 0x9f) ||
      cp === 0x2028 ||
      cp === 0x2029 ||
      (cp >= 0xd800 && cp <= 0xdfff);
    if (bad) {
      throw new Error(`raw U+${cp.toString(16).padStart(4, '0')} in line`);
    }
  }
}

export interface ParsedCef {
  version: string;
  vendor: string;
  product: string;
  deviceVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  /** Keys in order of appearance. */
  keys: string[];
  ext: Record<string, string>;
}

/** CEF (syslog.md §1.1–1.2): seven header fields ending in unescaped pipes, then `key=value` pairs. */
export function parseCef(line: string): ParsedCef {
  assertOneLine(line);
  if (!line.startsWith('CEF:')) {
    throw new Error('CEF line must start with "CEF:"');
  }
  const fields: string[] = [];
  let i = 4;
  let cur = '';
  while (fields.length < 7) {
    const ch = line[i++];
    if (ch === undefined) {
      throw new Error(`CEF header has ${fields.length} fields, want 7`);
    } else if (ch === '|') {
      fields.push(cur);
      cur = '';
    } else if (ch !== '\\') {
      cur += ch;
    } else if (line[i] === '\\' || line[i] === '|') {
      cur += line[i++];
    } else {
      throw new Error(`bad header escape \\${line[i] ?? ''} at ${i}`);
    }
  }
  const [version, vendor = '', product = '', deviceVersion = '', signatureId = '', name = '', severity = ''] =
    fields;
  const { keys, ext } = parseExtension(line.slice(i));
  return {
    version: `CEF:${version}`,
    vendor,
    product,
    deviceVersion,
    signatureId,
    name,
    severity,
    keys,
    ext,
  };
}

function parseExtension(raw: string): { keys: string[]; ext: Record<string, string> } {
  const s = raw.startsWith(' ') ? raw.slice(1) : raw;
  // Every unescaped `=` ends a key: the alphanumeric word right before it, after a space or the start.
  const keyStarts: { key: string; start: number; eq: number }[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s[i] === '=') {
      let k = i;
      while (k > 0 && /[A-Za-z0-9]/.test(s[k - 1] ?? '')) {
        k--;
      }
      if (k === i || (k > 0 && s[k - 1] !== ' ')) {
        throw new Error(
          `unescaped "=" not after a key at ${i}: ${JSON.stringify(s.slice(Math.max(0, i - 20), i + 5))}`,
        );
      }
      keyStarts.push({ key: s.slice(k, i), start: k, eq: i });
    }
  }
  if (s !== '' && keyStarts[0]?.start !== 0) {
    throw new Error('extension does not start with a key');
  }
  const keys: string[] = [];
  const ext: Record<string, string> = {};
  keyStarts.forEach(({ key, eq }, n) => {
    const end = n + 1 < keyStarts.length ? (keyStarts[n + 1]?.start ?? s.length) - 1 : s.length;
    if (Object.hasOwn(ext, key)) {
      throw new Error(`duplicate key ${key}`);
    }
    keys.push(key);
    ext[key] = unescapeValue(s.slice(eq + 1, end));
  });
  return { keys, ext };
}

const EXT_ESCAPES: Record<string, string> = { '\\': '\\', '=': '=', n: '\n', r: '\r' };

function unescapeValue(v: string): string {
  return v.replace(/\\(.?)/gs, (_, next: string) => {
    const decoded = EXT_ESCAPES[next];
    if (decoded === undefined) {
      throw new Error(`bad extension escape \\${next || '<end>'}`);
    }
    return decoded;
  });
}

export interface ParsedRfc5424 {
  pri: number;
  facility: number;
  severity: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** SD-ID → params in order ([name, value] pairs, names may repeat). */
  sd: Map<string, [string, string][]>;
  msg: string | null;
  bom: boolean;
}

const HEADER = /^<(0|[1-9]\d{0,2})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;
const PRINTUSASCII = /^[\x21-\x7e]+$/;
const SD_NAME = /^[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;

function token(value: string, max: number, what: string): string {
  if (value.length > max || !PRINTUSASCII.test(value)) {
    throw new Error(`bad ${what} ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * RFC 5424 (syslog.md §3): header, STRUCTURED-DATA, optional MSG. Strict beyond the RFC in one way:
 * a backslash in an SD value must start `\"`, `\\` or `\]` (the RFC keeps other backslashes
 * literally, but our formatter always escapes them).
 */
export function parseRfc5424(line: string): ParsedRfc5424 {
  assertOneLine(line);
  const m = HEADER.exec(line);
  if (!m) {
    throw new Error(`not an RFC 5424 header: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const [, priText = '', timestamp = '', hostname = '', appName = '', procId = '', msgId = ''] = m;
  const pri = Number(priText);
  if (pri > 191) {
    throw new Error(`PRI ${pri} > 191`);
  }
  if (timestamp !== '-' && !TIMESTAMP.test(timestamp)) {
    throw new Error(`bad TIMESTAMP ${timestamp}`);
  }
  token(hostname, 255, 'HOSTNAME');
  token(appName, 48, 'APP-NAME');
  token(procId, 128, 'PROCID');
  token(msgId, 32, 'MSGID');
  let i = m[0].length;
  const sd = new Map<string, [string, string][]>();
  if (line[i] === '-') {
    i++;
  } else {
    if (line[i] !== '[') {
      throw new Error('STRUCTURED-DATA must be "-" or start with "["');
    }
    while (line[i] === '[') {
      i = parseElement(line, i + 1, sd);
    }
  }
  let msg: string | null = null;
  if (i < line.length) {
    if (line[i] !== ' ') {
      throw new Error(`junk after STRUCTURED-DATA at ${i}`);
    }
    msg = line.slice(i + 1);
  }
  const bom = msg?.startsWith('\uFEFF') ?? false;
  return {
    pri,
    facility: pri >> 3,
    severity: pri & 7,
    timestamp,
    hostname,
    appName,
    procId,
    msgId,
    sd,
    msg: bom && msg ? msg.slice(1) : msg,
    bom,
  };
}

function readName(line: string, i: number, stop: RegExp): [string, number] {
  let j = i;
  while (j < line.length && !stop.test(line[j] ?? '')) {
    j++;
  }
  const name = line.slice(i, j);
  if (!SD_NAME.test(name)) {
    throw new Error(`bad SD-NAME ${JSON.stringify(name)}`);
  }
  return [name, j];
}

/** Parses one SD-ELEMENT from just after its `[`; returns the index after its `]`. */
function parseElement(line: string, start: number, sd: Map<string, [string, string][]>): number {
  const [id, afterId] = readName(line, start, /[ \]]/);
  let i = afterId;
  if (sd.has(id)) {
    throw new Error(`SD-ID ${id} appears twice`);
  }
  const params: [string, string][] = [];
  sd.set(id, params);
  while (line[i] === ' ') {
    let name: string;
    [name, i] = readName(line, i + 1, /=/);
    if (line.slice(i, i + 2) !== '="') {
      throw new Error(`PARAM ${name} without ="`);
    }
    i += 2;
    let value = '';
    for (;;) {
      const ch = line[i];
      if (ch === undefined) {
        throw new Error(`unterminated value of ${name}`);
      }
      if (ch === '"') {
        i++;
        break;
      }
      if (ch === ']') {
        throw new Error(`unescaped "]" in value of ${name}`);
      }
      if (ch === '\\') {
        const next = line[i + 1];
        if (next !== '"' && next !== '\\' && next !== ']') {
          throw new Error(`backslash before ${next ?? '<end>'} in value of ${name}`);
        }
        value += next;
        i += 2;
        continue;
      }
      value += ch;
      i++;
    }
    params.push([name, value]);
  }
  if (line[i] !== ']') {
    throw new Error(`SD-ELEMENT ${id} not closed at ${i}`);
  }
  return i + 1;
}

/** SD params of one element as an object (throws when a name repeats). */
export function sdParams(p: ParsedRfc5424, id: string): Record<string, string> {
  const params = p.sd.get(id);
  if (!params) {
    throw new Error(`no SD-ELEMENT ${id}`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(out, name)) {
      throw new Error(`PARAM-NAME ${name} repeats`);
    }
    out[name] = value;
  }
  return out;
}

export interface ParsedRfc3164 {
  pri: number;
  timestamp: string;
  hostname: string;
  tag: string;
  msg: string;
}

const RFC3164 =
  /^<(0|[1-9]\d{0,2})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d{2}:\d{2}:\d{2}) ([\x21-\x7e]+) ([A-Za-z0-9_.-]{1,32}(?: -)?:) /;

/** RFC 3164 line with a TAG (syslog.md §4, §1.5): `<PRI>Mmm dd hh:mm:ss HOST TAG MSG`. */
export function parseRfc3164(line: string): ParsedRfc3164 {
  assertOneLine(line);
  const m = RFC3164.exec(line);
  if (!m) {
    throw new Error(`not an RFC 3164 line with TAG: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const [, pri = '', timestamp = '', hostname = '', tag = ''] = m;
  return { pri: Number(pri), timestamp, hostname, tag, msg: line.slice(m[0].length) };
}

/** One JSON object on one line. */
export function parseJsonLine(line: string): Record<string, unknown> {
  assertOneLine(line);
  const v: unknown = JSON.parse(line);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error('JSON line is not an object');
  }
  return v as Record<string, unknown>;
}

/** Splits an octet-counted TCP stream (`MSG-LEN SP MSG`, syslog.md §5), counting bytes. */
export function parseOctetFrames(stream: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < stream.length) {
    const sp = stream.indexOf(0x20, i);
    const len = stream.subarray(i, sp).toString('latin1');
    if (sp < 0 || !/^[1-9]\d*$/.test(len)) {
      throw new Error(`bad MSG-LEN at byte ${i}`);
    }
    const end = sp + 1 + Number(len);
    if (end > stream.length) {
      throw new Error('frame runs past the stream');
    }
    out.push(stream.subarray(sp + 1, end).toString('utf8'));
    i = end;
  }
  return out;
}

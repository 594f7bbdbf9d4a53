import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** Every module specifier a file names: static imports, re-exports and dynamic `import()`. */
function specifiersOf(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

/** The folder under src/ a relative specifier lands in (`db`, `core`, …), or null for a package. */
function targetFolder(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) {
    return null;
  }
  const target = path.relative(
    path.join(root, 'src'),
    path.resolve(path.dirname(path.join(root, file)), spec),
  );
  return target.startsWith('..') ? '..' : (target.split(path.sep)[0] ?? null);
}

/**
 * Which imports a file may not make (DESIGN §1, shared/architecture.json "never" arrows): a package
 * matching one of `packages`, or a file in one of the src/ folders named in `folders`.
 */
interface Rule {
  from: string;
  /** src/ folders it may not import from; '*' stands for every one but its own */
  folders: string[];
  packages: RegExp[];
  why: string;
}

const RULES: Rule[] = [
  {
    from: 'src/core',
    folders: ['*'],
    packages: [
      /^@slack\//,
      /^undici$/,
      /^@azure\//,
      /^drizzle-orm/,
      /^postgres$/,
      /^pg$/,
      /^agenda$/,
      /^@agendajs\//,
      /^pino$/,
      /^node:(http|https|tls|dgram|net)$/,
    ],
    why: 'core receives ports; it imports no adapter, no I/O library and nothing outside core',
  },
  {
    from: 'src/slack',
    folders: ['db', 'mde', 'notify'],
    packages: [],
    why: 'Slack handlers go through core',
  },
  {
    from: 'src/api',
    folders: ['db', 'mde', 'notify', 'slack'],
    packages: [],
    why: 'REST routes go through core',
  },
  {
    from: 'src/db',
    folders: ['notify', 'slack', 'api', 'mde'],
    packages: [],
    why: 'repositories never send',
  },
  {
    from: 'src/notify',
    folders: ['slack', 'api'],
    packages: [],
    why: 'the Slack alert format lives in notify',
  },
];

/** The offending imports of `files` (path → text) under `rule`. */
function offences(rule: Rule, files: Array<[string, string]>): string[] {
  return files.flatMap(([file, text]) =>
    specifiersOf(text)
      .filter((spec) => {
        const folder = targetFolder(file, spec);
        const own = rule.from.split('/')[1];
        const barred =
          folder !== null &&
          (rule.folders.includes(folder) || (rule.folders.includes('*') && folder !== own));
        return barred || rule.packages.some((re) => re.test(spec));
      })
      .map((spec) => `${file} imports ${spec}`),
  );
}

async function read(dir: string): Promise<Array<[string, string]>> {
  const files = await sourceFiles(dir);
  return Promise.all(
    files.map(async (f) => [f, await readFile(path.join(root, f), 'utf8')] as [string, string]),
  );
}

describe('dependency direction', () => {
  it.each(RULES.map((r) => [r.from, r] as const))('%s keeps to its boundary', async (_, rule) => {
    expect(offences(rule, await read(rule.from)), rule.why).toEqual([]);
  });

  it('the rules catch a forbidden import (a handler importing a repository, core importing node:net)', () => {
    const slack = RULES.find((r) => r.from === 'src/slack') as Rule;
    const core = RULES.find((r) => r.from === 'src/core') as Rule;
    const db = RULES.find((r) => r.from === 'src/db') as Rule;
    expect(
      offences(slack, [
        ['src/slack/commands/roles.ts', "import { roleRepo } from '../../db/repos/roles.js';"],
      ]),
    ).toEqual(['src/slack/commands/roles.ts imports ../../db/repos/roles.js']);
    expect(offences(core, [['src/core/hosts/x.ts', "import { isIP } from 'node:net';"]])).toHaveLength(1);
    expect(offences(core, [['src/core/x.ts', "const m = await import('../config.js');"]])).toHaveLength(1);
    expect(
      offences(db, [['src/db/repos/x.ts', "import type { Sink } from '../../notify/sinks.js';"]]),
    ).toHaveLength(1);
    expect(offences(slack, [['src/slack/x.ts', "import { can } from '../core/permissions.js';"]])).toEqual(
      [],
    );
  });

  it('nothing in src/ imports test code', async () => {
    const bad = (await read('src')).flatMap(([file, text]) =>
      specifiersOf(text)
        .filter(
          (s) =>
            s.startsWith('.') &&
            path.resolve(path.dirname(path.join(root, file)), s).startsWith(path.join(root, 'test')),
        )
        .map((s) => `${file} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });
});

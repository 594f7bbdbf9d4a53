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

async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

// DESIGN §1: core receives ports; adapters live in db/, mde/, slack/, notify/, jobs/, api/.
const FORBIDDEN_IN_CORE = [
  /^@slack\//,
  /^undici$/,
  /^@azure\//,
  /^drizzle-orm/,
  /^postgres$/,
  /^pg$/,
  /^agenda$/,
  /^@agendajs\//,
  /^pino$/,
  /^node:(http|https|tls|dgram)$/,
];

describe('dependency direction', () => {
  it('core imports no adapter library and nothing outside core', async () => {
    const offences: string[] = [];
    for (const file of await sourceFiles('src/core')) {
      for (const spec of await importsOf(file)) {
        const outside =
          spec.startsWith('.') &&
          !path.resolve(path.dirname(path.join(root, file)), spec).startsWith(path.join(root, 'src/core'));
        if (outside || FORBIDDEN_IN_CORE.some((re) => re.test(spec))) {
          offences.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('nothing in src/ imports test code', async () => {
    const offences: string[] = [];
    for (const file of await sourceFiles('src')) {
      for (const spec of await importsOf(file)) {
        if (
          spec.startsWith('.') &&
          path.resolve(path.dirname(path.join(root, file)), spec).startsWith(path.join(root, 'test'))
        ) {
          offences.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});

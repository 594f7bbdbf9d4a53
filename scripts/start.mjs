#!/usr/bin/env node
// `npm start`: runs the built app (dist/main.js). On a fresh clone (no dist/) or after a source
// change (src/ newer than the last build), builds it first with the project's TypeScript, so
// `npm ci && npm start` works without a separate build step. A production install
// (`npm ci --omit=dev`, dist/ shipped) never builds: it has no TypeScript and needs none.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.built');

/** The newest modification time under `dir` (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) {
    return 0;
  }
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const source = Math.max(
  newest(path.join(root, 'src')),
  statSync(path.join(root, 'tsconfig.build.json')).mtimeMs,
);
if (
  !existsSync(path.join(root, 'dist', 'main.js')) ||
  (existsSync(path.join(root, 'src')) && source > built)
) {
  try {
    // build.mjs runs TypeScript: a production install (no dev dependencies) cannot build
    createRequire(path.join(root, 'package.json')).resolve('typescript/package.json');
  } catch {
    process.stderr.write(
      'dist/ is missing or older than src/, and TypeScript is not installed (a production install?): run `npm run build` where the dev dependencies are.\n',
    );
    process.exit(1);
  }
  process.stderr.write('building dist/ from src/ …\n');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
await import(pathToFileURL(path.join(root, 'dist', 'main.js')).href);

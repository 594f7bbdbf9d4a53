#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with the project's TypeScript (tsconfig.build.json),
// from a clean dist/, and stamps the build so `npm start` knows whether src/ changed since.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(
  path.dirname(createRequire(path.join(root, 'package.json')).resolve('typescript/package.json')),
  'bin',
  'tsc',
);
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
  cwd: root,
});
writeFileSync(path.join(root, 'dist', '.built'), `${new Date().toISOString()}\n`);

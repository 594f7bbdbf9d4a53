#!/usr/bin/env node
// postinstall: a small, pinned patch of postgres.js 3.4.9 for two defects that end the process when
// PostgreSQL restarts (issue #16, item 3; still open upstream in 3.4.10):
//  1. `nextWrite` runs from a setImmediate after the socket closed and throws on `socket.write`
//     (porsager/postgres#1154, #1208; the idea of PRs #1168/#1176/#1209): with no socket, the
//     pending write is dropped, the write timer cleared, and the queries waiting on this connection
//     are failed with CONNECTION_CLOSED, so the pool reconnects and callers see an error;
//  2. the connection's array-types query (`fetch_types`) is not awaited, so its connection error is
//     an unhandled rejection (#1192, #1205, #1223): it is now handled like any connection error.
// Each edit is an exact text replacement in the ESM, CommonJS and Cloudflare builds; the script
// refuses any other version (update or drop the patch when upgrading) and is idempotent.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(root, 'node_modules', 'postgres');
const VERSION = '3.4.9';
const MARK = '/* hostlock patch: postgres.js restart defects */';

const EDITS = [
  {
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    to: `  function nextWrite(fn) {
    ${MARK}
    if (!socket) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      fn && fn(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  },
  {
    from: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)
    socket.removeListener('connect', connected)
    idleTimer.cancel()`,
    to: `    clearImmediate(nextWriteTimer)
    nextWriteTimer = null
    chunk = null
    socket.removeListener('data', data)
    socket.removeListener('connect', connected)
    idleTimer.cancel()`,
  },
  {
    from: `        return fetchArrayTypes()`,
    to: `        return fetchArrayTypes().catch(error)`,
  },
];

if (!existsSync(pkgDir)) {
  process.exit(0); // not installed (yet): nothing to patch
}
const version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
if (version !== VERSION) {
  process.stderr.write(
    `scripts/patch-postgres.mjs: postgres ${version} is installed, the patch is for ${VERSION} only: review it\n`,
  );
  process.exit(1);
}
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const file = path.join(pkgDir, build, 'connection.js');
  if (!existsSync(file)) {
    continue;
  }
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) {
    continue; // already patched
  }
  for (const { from, to } of EDITS) {
    if (text.split(from).length !== 2) {
      process.stderr.write(
        `scripts/patch-postgres.mjs: ${build}/connection.js does not contain, once:\n${from}\n`,
      );
      process.exit(1);
    }
    text = text.replace(from, to);
  }
  writeFileSync(file, text);
}

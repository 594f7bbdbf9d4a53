import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HostlockError } from '../core/errors.js';

const KEY_BYTES = 32;
const KEY_FILE = 'master.key';
const GENERATE_HINT = 'generate one with `openssl rand -base64 32`';

/** Where the master key came from: `HOSTLOCK_MASTER_KEY`, or `<dataDir>/master.key`. */
export type MasterKeySource = 'env' | 'file';

/**
 * Loads the key that encrypts secrets at rest (DESIGN §3.2, reliability.md §7).
 *
 * `masterKeyBase64` (HOSTLOCK_MASTER_KEY) wins when given. Otherwise `<dataDir>/master.key` is read,
 * or created once with a random key (mode 0600, `dataDir` 0700) and `warn` is called, because losing
 * that file makes every stored secret unreadable.
 *
 * @throws {HostlockError} `bad_master_key` when the variable or file is not base64 of exactly
 *   32 bytes; `master_key_file_insecure` when the file is accessible to group or others.
 */
export async function loadMasterKey(opts: {
  masterKeyBase64?: string;
  dataDir: string;
  warn: (msg: string) => void;
}): Promise<{ key: Buffer; source: MasterKeySource }> {
  if (opts.masterKeyBase64 !== undefined) {
    return { key: parseKey(opts.masterKeyBase64, 'HOSTLOCK_MASTER_KEY'), source: 'env' };
  }
  const file = path.join(opts.dataDir, KEY_FILE);
  const existing = await readKeyFile(file);
  if (existing) {
    return { key: existing, source: 'file' };
  }
  const created = await createKeyFile(opts.dataDir, file);
  if (created) {
    opts.warn(
      `generated a new master key in ${file}; back it up (without it stored secrets cannot be decrypted), ` +
        'or set HOSTLOCK_MASTER_KEY to its contents and remove the file',
    );
    return { key: created, source: 'file' };
  }
  // Another process created the file between our read and our create: use its key.
  const theirs = await readKeyFile(file);
  if (!theirs) {
    throw new HostlockError(`${file} disappeared while hostlock was starting; start hostlock again`, {
      code: 'master_key_file_missing',
      retryable: true,
    });
  }
  return { key: theirs, source: 'file' };
}

/** Reads and checks the key file; `undefined` if it does not exist. */
async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) {
      return undefined;
    }
    throw error;
  }
  try {
    // fstat the open handle, not the path, so the file checked is the file read.
    const stat = await handle.stat();
    // POSIX mode bits mean nothing on Windows; there the file's ACL is the admin's job.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new HostlockError(
        `${file} is accessible to group or others (mode ${mode}); run \`chmod 600 ${file}\` ` +
          'and consider whether the key was exposed',
        { code: 'master_key_file_insecure', context: { file, mode } },
      );
    }
    return parseKey(await handle.readFile('utf8'), file);
  } finally {
    await handle.close();
  }
}

/**
 * Creates the key file atomically. The key is written and synced under a unique temporary name,
 * then hard-linked into place: `link` fails with EEXIST if another process won the race, and the
 * winner's file is complete before anyone can open it (a plain `wx` write would let the loser read
 * it half-written). Returns `undefined` when another process won.
 */
async function createKeyFile(dataDir: string, file: string): Promise<Buffer | undefined> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  // `wx` also refuses to follow a symlink planted at the temporary name.
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(`${key.toString('base64')}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, file);
    return key;
  } catch (error) {
    if (isErrnoCode(error, 'EEXIST')) {
      return undefined;
    }
    throw error;
  } finally {
    await unlink(temp).catch((error: unknown) => {
      if (!isErrnoCode(error, 'ENOENT')) {
        throw error;
      }
    });
  }
}

/** Decodes base64 of exactly 32 bytes; the error names `source` but never echoes the value. */
function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  // Node's decoder skips invalid characters; requiring a round trip rejects typos instead.
  const isCanonical = key.toString('base64') === trimmed;
  if (!isCanonical || key.length !== KEY_BYTES) {
    const got = isCanonical ? `${key.length} bytes` : 'text that is not base64';
    throw new HostlockError(
      `${source} must be base64 of exactly ${KEY_BYTES} bytes, got ${got}; ${GENERATE_HINT}`,
      { code: 'bad_master_key', context: { source } },
    );
  }
  return key;
}

function isErrnoCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

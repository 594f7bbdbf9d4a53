import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files and contents of a throwaway certificate made by {@link createTestCertificate}. */
export interface TestCertificate {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/**
 * Makes a self-signed certificate for `CN=127.0.0.1` (subjectAltName `IP:127.0.0.1`, `DNS:localhost`),
 * valid for two days, with the `openssl` CLI. Production code never disables certificate checks
 * (DESIGN §3.2), so tests trust this certificate through `NODE_EXTRA_CA_CERTS=<certPath>` or an
 * undici `Agent({ connect: { ca } })`.
 *
 * @param dir an existing directory; `cert.pem` and `key.pem` are written into it.
 * @throws when `openssl` is missing or fails (its stderr is in the error's `cause`).
 */
export async function createTestCertificate(dir: string): Promise<TestCertificate> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
  } catch (cause) {
    throw new Error(`openssl could not create a test certificate in ${dir}; is openssl installed?`, {
      cause,
    });
  }
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { certPath, keyPath, cert, key };
}

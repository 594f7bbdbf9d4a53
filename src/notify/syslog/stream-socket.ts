import net from 'node:net';
import tls from 'node:tls';

/** The error of a failed syslog step, naming the target (`where`) and keeping the cause. */
export function withCause(where: string, what: string, cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new Error(`syslog ${where}: ${what}: ${message}`, { cause });
}

/** Where a TCP or TLS connection goes (the fields of `SyslogTarget` that matter here). */
export interface StreamEndpoint {
  protocol: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
  /** extra PEM CA(s) trusted for TLS on top of Node's roots */
  ca?: string | undefined;
}

/** Starts a TCP connection, or a TLS one verified against `host` (TLS 1.2 or later). */
function dial(to: StreamEndpoint): net.Socket {
  if (to.protocol !== 'tls') {
    return net.connect({ host: to.host, port: to.port });
  }
  const options: tls.ConnectionOptions = {
    host: to.host,
    port: to.port,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  };
  if (!net.isIP(to.host)) {
    options.servername = to.host; // SNI; RFC 6066 forbids IP addresses here
  }
  if (to.ca !== undefined) {
    options.ca = [...tls.rootCertificates, to.ca];
  }
  return tls.connect(options);
}

/**
 * Connects (TLS: through the handshake) within `timeoutMs`. `adopt` is called with the ready socket
 * synchronously, before the promise resolves, so its listeners are on before the socket can emit
 * anything else (an `error` with no listener would throw).
 */
export function connectStream(
  to: StreamEndpoint,
  where: string,
  timeoutMs: number,
  adopt: (s: net.Socket) => void,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = dial(to);
    const ready = to.protocol === 'tls' ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      s.destroy(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      s.off(ready, ok);
      s.destroy();
      reject(withCause(where, 'connect failed', err));
    };
    const ok = () => {
      clearTimeout(timer);
      s.off('error', fail);
      adopt(s);
      resolve(s);
    };
    s.once('error', fail);
    s.once(ready, ok);
  });
}

/**
 * Writes one frame; resolves once the kernel took it. A write that fails, or is not taken within
 * `timeoutMs`, or whose connection closes first, calls `drop(s)` and rejects.
 */
export function writeFrame(
  s: net.Socket,
  bytes: Buffer,
  where: string,
  timeoutMs: number,
  drop: (s: net.Socket) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err?: Error | null) => {
      if (settled) {
        return;
      }
      settled = true;
      clearTimeout(timer);
      s.off('close', onClose);
      if (err) {
        drop(s);
        reject(withCause(where, 'write failed', err));
      } else {
        resolve();
      }
    };
    const onClose = () => done(new Error('connection closed'));
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    s.once('close', onClose);
    s.write(bytes, (err) => done(err));
  });
}

/** Ends the connection after what is written; destroys it if that takes longer than `timeoutMs`. */
export function endStream(s: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.end(() => s.destroy());
  });
}

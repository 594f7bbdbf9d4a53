import dgram from 'node:dgram';
import net from 'node:net';
import { type Framing, frame, RFC3164_MAX_BYTES } from './framing.js';
import { connectStream, endStream, withCause, writeFrame } from './stream-socket.js';

/**
 * Largest RFC 5424 line sent over UDP: every receiver SHOULD accept 2048 octets (syslog.md §3.3,
 * §5; RFC 5426). RFC 3164 lines keep to {@link RFC3164_MAX_BYTES}. Longer lines are rejected, never
 * cut: use TCP or TLS for them.
 */
export const RFC5424_UDP_MAX_BYTES = 2048;

const RFC5424_START = /^<\d{1,3}>1 /;

/** UDP budget of one line: 2048 bytes for an RFC 5424 line (`<PRI>1 …`), 1024 for anything else (RFC 3164). */
export function udpMaxBytes(line: string): number {
  return RFC5424_START.test(line) ? RFC5424_UDP_MAX_BYTES : RFC3164_MAX_BYTES;
}

/** Where and how to send syslog lines. */
export interface SyslogTarget {
  protocol: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
  /** TCP/TLS framing (syslog.md §5); default `octet` (RFC 6587 / 5425 octet counting). Ignored for UDP. */
  framing?: Framing | undefined;
  /** Extra PEM CA(s) trusted for TLS on top of Node's roots. Certificates are always verified against `host`. */
  ca?: string | undefined;
  /** TCP/TLS: give up connecting (including the TLS handshake) after this long; default 10 s. */
  connectTimeoutMs?: number | undefined;
  /** TCP/TLS: a write the kernel has not taken after this long drops the connection; default 30 s. */
  writeTimeoutMs?: number | undefined;
}

/**
 * Sends one line at a time, in call order. `send` resolves once the datagram was sent (UDP) or the
 * frame was handed to the kernel (TCP/TLS) and rejects otherwise, so the caller can retry; it does
 * not mean the receiver got it. It resolves with the number of the connection that carried the
 * line (0 for UDP); when a connection ends without our asking (the receiver stopped, reset or
 * vanished), its number is reported once by `takeLost`, so the caller can send again what it sent
 * on it last (frames in the receiver's socket buffer are lost with it).
 */
export interface SyslogTransport {
  send(line: string): Promise<{ connection: number }>;
  /** Numbers of connections that broke since the last call (drained). */
  takeLost(): number[];
  /** Lets queued sends finish, then closes the socket; later sends reject. Idempotent. */
  close(): Promise<void>;
}

/** A connection broke since the caller last took the lost ones (`takeLost`); nothing was sent. */
export class ConnectionLostError extends Error {
  constructor(where: string) {
    super(`syslog ${where}: the connection was lost; take the lost connections (takeLost) before sending on`);
  }
}

interface Sender {
  send(line: string): Promise<number>;
  takeLost(): number[];
  close(): Promise<void>;
}

/**
 * A UDP, TCP or TLS syslog sender (syslog.md §5). TCP/TLS keep one connection, opened on the first
 * send and re-opened on the send after it broke; lines are framed with {@link frame}. Sends are
 * queued so only one is in flight: nothing is buffered in the socket beyond the frame being written.
 */
export function createSyslogTransport(target: SyslogTarget): SyslogTransport {
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new RangeError(`syslog port ${target.port} is not 1-65535`);
  }
  if (target.host === '') {
    throw new RangeError('syslog host is empty');
  }
  const where = `${target.protocol}://${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
  const sender = target.protocol === 'udp' ? udpSender(target, where) : streamSender(target, where);
  let tail: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | undefined;
  return {
    send(line) {
      if (closing) {
        return Promise.reject(new Error(`syslog ${where}: transport is closed`));
      }
      const sent = tail.then(() => sender.send(line)).then((connection) => ({ connection }));
      tail = sent.catch(() => {});
      return sent;
    },
    takeLost: () => sender.takeLost(),
    close() {
      closing ??= tail.then(() => sender.close());
      return closing;
    },
  };
}

function udpSender(target: SyslogTarget, where: string): Sender {
  let socket: dgram.Socket | undefined;
  const open = (): dgram.Socket => {
    if (!socket) {
      const s = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
      s.on('error', () => {
        if (socket === s) {
          socket = undefined;
        }
        try {
          s.close();
        } catch {
          // already closed
        }
      });
      socket = s;
    }
    return socket;
  };
  return {
    send(line) {
      const bytes = Buffer.from(line, 'utf8');
      const max = udpMaxBytes(line);
      if (bytes.length > max) {
        return Promise.reject(
          new RangeError(
            `syslog ${where}: line of ${bytes.length} bytes exceeds the UDP limit of ${max} bytes; use TCP or TLS`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        open().send(bytes, target.port, target.host, (err) => {
          if (err) {
            reject(withCause(where, 'send failed', err));
          } else {
            resolve(0);
          }
        });
      });
    },
    takeLost: () => [],
    close() {
      const s = socket;
      socket = undefined;
      if (!s) {
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        try {
          s.close(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}

function streamSender(target: SyslogTarget, where: string): Sender {
  const framing = target.framing ?? 'octet';
  const connectTimeoutMs = target.connectTimeoutMs ?? 10_000;
  const writeTimeoutMs = target.writeTimeoutMs ?? 30_000;
  // A closure: every method reads or updates the same connection, its number and the lost numbers.
  let socket: net.Socket | undefined;
  let generation = 0;
  const numbers = new WeakMap<net.Socket, number>();
  /** sockets we are closing ourselves: their end is not a loss */
  const ours = new WeakSet<net.Socket>();
  let lost: number[] = [];

  const drop = (s: net.Socket) => {
    if (socket === s) {
      socket = undefined;
    }
    const n = numbers.get(s);
    if (n !== undefined && !ours.has(s)) {
      numbers.delete(s);
      lost.push(n);
    }
    s.destroy();
  };

  const adopt = (s: net.Socket) => {
    s.setNoDelay(true);
    // A receiver never talks back; an end, error or close means the connection is gone.
    s.on('error', () => drop(s));
    s.on('end', () => drop(s));
    s.on('close', () => drop(s));
    s.resume();
    generation += 1;
    numbers.set(s, generation);
    socket = s;
  };

  return {
    async send(line) {
      const bytes = frame(line, framing);
      if (socket && (socket.destroyed || !socket.writable)) {
        drop(socket);
      }
      if (lost.length > 0) {
        // Lines sent on the broken connection may be gone: the caller sends those again first,
        // or this line would reach the receiver ahead of them.
        throw new ConnectionLostError(where);
      }
      const s = socket ?? (await connectStream(target, where, connectTimeoutMs, adopt));
      await writeFrame(s, bytes, where, writeTimeoutMs, drop);
      return numbers.get(s) ?? 0;
    },
    takeLost() {
      const out = lost;
      lost = [];
      return out;
    },
    close() {
      const s = socket;
      socket = undefined;
      if (!s || s.destroyed) {
        return Promise.resolve();
      }
      ours.add(s);
      return endStream(s, writeTimeoutMs);
    },
  };
}

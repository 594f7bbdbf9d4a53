// A tiny in-process TCP syslog receiver for the demo (the tests use a real rsyslog; the demo must
// not need one). It reads both stream framings a sender may use (RFC 6587): octet counting
// (`MSG-LEN SP MSG`, hostlock's default) and one message per LF-terminated line.
import net from 'node:net';

/** One message as received, framing removed. */
export interface SyslogMessage {
  /** wall clock (ms) when the message was complete */
  at: number;
  line: string;
}

export interface SyslogListener {
  /** the TCP port on 127.0.0.1 */
  readonly port: number;
  /** every message received so far, in arrival order */
  readonly messages: readonly SyslogMessage[];
  close(): Promise<void>;
}

/** Splits complete frames off the front of `buf`; returns the messages and what is left. */
export function unframe(buf: Buffer): { lines: string[]; rest: Buffer } {
  const lines: string[] = [];
  let rest = buf;
  for (;;) {
    if (rest.length === 0) {
      break;
    }
    const first = rest[0] ?? 0;
    if (first >= 0x31 && first <= 0x39) {
      // octet counting: digits, one space, then exactly that many bytes
      const space = rest.indexOf(0x20);
      if (space < 0) {
        break;
      }
      const len = Number(rest.subarray(0, space).toString('ascii'));
      if (!Number.isInteger(len) || rest.length < space + 1 + len) {
        break;
      }
      lines.push(rest.subarray(space + 1, space + 1 + len).toString('utf8'));
      rest = rest.subarray(space + 1 + len);
    } else {
      // non-transparent framing: up to the next LF
      const lf = rest.indexOf(0x0a);
      if (lf < 0) {
        break;
      }
      const line = rest.subarray(0, lf).toString('utf8').replace(/\r$/, '');
      if (line !== '') {
        lines.push(line);
      }
      rest = rest.subarray(lf + 1);
    }
  }
  return { lines, rest };
}

/** Listens on `127.0.0.1:<free port>` until closed. */
export async function startSyslogListener(): Promise<SyslogListener> {
  const messages: SyslogMessage[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { lines, rest } = unframe(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const line of lines) {
        messages.push({ at: Date.now(), line });
      }
    });
    socket.on('error', () => {}); // the sender going away is no news here
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) {
          s.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { rfc3164Line, rfc5424Line } from '../../src/notify/syslog/framing.js';
import {
  createSyslogTransport,
  RFC5424_UDP_MAX_BYTES,
  type SyslogTarget,
  type SyslogTransport,
} from '../../src/notify/syslog/transport.js';
import { createTestCertificate, type TestCertificate } from '../fakes/tls.js';
import { parseOctetFrames } from '../helpers/syslog-parse.js';

// Our syslog sender against plain Node listeners on 127.0.0.1. The TLS listener uses the run's
// throwaway certificate, trusted through NODE_EXTRA_CA_CERTS (test/global-setup.ts).

const HOST = '127.0.0.1';
const WAIT = { timeout: 5_000, interval: 5 };

const transports: SyslogTransport[] = [];
const closers: (() => Promise<void>)[] = [];

function transport(target: Omit<SyslogTarget, 'host'>): SyslogTransport {
  const t = createSyslogTransport({ host: HOST, ...target });
  transports.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(closers.splice(0).map((c) => c()));
});

interface UdpListener {
  port: number;
  messages: Buffer[];
}

async function udpListener(): Promise<UdpListener> {
  const s = dgram.createSocket('udp4');
  const messages: Buffer[] = [];
  s.on('message', (msg) => messages.push(msg));
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  closers.push(() => new Promise((resolve) => s.close(() => resolve())));
  return { port: s.address().port, messages };
}

interface StreamListener {
  port: number;
  /** Bytes received, all connections appended in arrival order. */
  received(): Buffer;
  connections: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

async function streamListener(
  o: { tls?: { cert: string; key: string }; port?: number; silent?: boolean } = {},
): Promise<StreamListener> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const onSocket = (sock: net.Socket) => {
    sockets.add(sock);
    state.connections++;
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    if (!o.silent) {
      sock.on('data', (d: Buffer) => chunks.push(d));
    }
  };
  const server = o.tls
    ? tls.createServer({ cert: o.tls.cert, key: o.tls.key }, onSocket)
    : net.createServer(onSocket);
  // A rejected TLS handshake surfaces here, not on a connection.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('listener has no port');
  }
  let closed = false;
  const close = async () => {
    if (closed) {
      return;
    }
    closed = true;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const sock of sockets) {
      sock.destroy();
    }
    await done;
  };
  const state: StreamListener = {
    port: address.port,
    received: () => Buffer.concat(chunks),
    connections: 0,
    close,
  };
  closers.push(close);
  return state;
}

const frames = (l: StreamListener) => parseOctetFrames(l.received());

describe('UDP', () => {
  it('sends one intact datagram per line', async () => {
    const l = await udpListener();
    const t = transport({ protocol: 'udp', port: l.port });
    const a = rfc3164Line({
      facility: 'local0',
      severity: 5,
      at: new Date('2024-06-03T09:24:00Z'),
      hostname: 'bot-host',
      tag: 'vectra_cef -:',
      msg: 'CEF:0|Vectra Networks|X Series|7.4|host_lockdown|Lockdown|3|dvchost=héllo',
    });
    const b = rfc5424Line({
      facility: 'local0',
      severity: 6,
      at: new Date('2024-06-03T09:24:00Z'),
      hostname: 'bot-host',
      appName: 'hostlock',
      msg: 'x'.repeat(1500),
    });
    await t.send(a);
    await t.send(b);
    await vi.waitFor(() => expect(l.messages).toHaveLength(2), WAIT);
    expect(l.messages.map((m) => m.toString('utf8'))).toEqual([a, b]);
  });

  it('rejects lines over the RFC 3164 / RFC 5424 UDP limits instead of cutting them', async () => {
    const l = await udpListener();
    const t = transport({ protocol: 'udp', port: l.port });
    const legacy = (bytes: number) => `<134>Jun  3 09:24:00 h hostlock: ${'x'.repeat(bytes - 33)}`;
    expect(Buffer.byteLength(legacy(1024))).toBe(1024);
    await expect(t.send(legacy(1025))).rejects.toThrow(/1025 bytes exceeds the UDP limit of 1024/);
    // Multi-byte characters count as bytes: 512 × "é" plus the header is over 1024 bytes.
    await expect(t.send(`<134>Jun  3 09:24:00 h hostlock: ${'é'.repeat(512)}`)).rejects.toThrow(
      /UDP limit of 1024/,
    );
    const modern = (bytes: number) => `<134>1 - h hostlock - - - ${'y'.repeat(bytes - 26)}`;
    expect(Buffer.byteLength(modern(RFC5424_UDP_MAX_BYTES))).toBe(RFC5424_UDP_MAX_BYTES);
    await expect(t.send(modern(RFC5424_UDP_MAX_BYTES + 1))).rejects.toThrow(/UDP limit of 2048/);
    await t.send(legacy(1024));
    await t.send(modern(RFC5424_UDP_MAX_BYTES));
    await vi.waitFor(() => expect(l.messages).toHaveLength(2), WAIT);
    expect(l.messages.map((m) => m.length)).toEqual([1024, RFC5424_UDP_MAX_BYTES]);
  });
});

describe('TCP', () => {
  it('octet-counts frames by UTF-8 bytes on one connection', async () => {
    const l = await streamListener();
    const t = transport({ protocol: 'tcp', port: l.port });
    const lines = ['<134>1 - h hostlock - - - héllo wörld ✓', '<13>Jun  3 09:24:00 h hostlock: 12 34', '9'];
    for (const line of lines) {
      await t.send(line);
    }
    await vi.waitFor(() => expect(frames(l)).toEqual(lines), WAIT);
    expect(l.connections).toBe(1);
  });

  it('frames with LF when asked', async () => {
    const l = await streamListener();
    const t = transport({ protocol: 'tcp', port: l.port, framing: 'lf' });
    await t.send('<134>one');
    await t.send('<134>two');
    await vi.waitFor(() => expect(l.received().toString('utf8')).toBe('<134>one\n<134>two\n'), WAIT);
  });

  it('keeps the order of 100 concurrent sends', async () => {
    const l = await streamListener();
    const t = transport({ protocol: 'tcp', port: l.port });
    const lines = Array.from({ length: 100 }, (_, i) => `<134>1 - h hostlock - - - message ${i}`);
    await Promise.all(lines.map((line) => t.send(line)));
    await vi.waitFor(() => expect(frames(l)).toHaveLength(100), WAIT);
    expect(frames(l)).toEqual(lines);
    expect(l.connections).toBe(1);
  });

  it('rejects while the receiver is down and reconnects once it is back', async () => {
    const first = await streamListener();
    const t = transport({ protocol: 'tcp', port: first.port });
    await t.send('<134>before');
    await vi.waitFor(() => expect(frames(first)).toEqual(['<134>before']), WAIT);

    await first.close();
    // The first write after the peer went away may still reach the kernel; a send fails as soon
    // as the drop is noticed, and every send after that fails to connect (nothing listens).
    await vi.waitFor(
      () => expect(t.send('<134>while down')).rejects.toThrow(/syslog tcp:\/\/127\.0\.0\.1/),
      WAIT,
    );
    // Until the caller takes the lost connection (to send its lines again first), nothing is sent.
    await expect(t.send('<134>not yet')).rejects.toThrow(/connection was lost/);
    expect(t.takeLost()).toEqual([1]);
    expect(t.takeLost()).toEqual([]);
    await expect(t.send('<134>still down')).rejects.toThrow(/connect failed: .*ECONNREFUSED/);

    const second = await streamListener({ port: first.port });
    await t.send('<134>after');
    await vi.waitFor(() => expect(frames(second)).toEqual(['<134>after']), WAIT);
    expect(second.connections).toBe(1);
  });

  it('rejects sends after close', async () => {
    const l = await streamListener();
    const t = transport({ protocol: 'tcp', port: l.port });
    const queued = t.send('<134>queued');
    await t.close();
    await queued;
    await expect(t.send('<134>late')).rejects.toThrow(/closed/);
    await vi.waitFor(() => expect(frames(l)).toEqual(['<134>queued']), WAIT);
  });
});

describe('TLS', () => {
  let dir: string;
  let untrusted: TestCertificate;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-syslog-'));
    untrusted = await createTestCertificate(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('delivers octet-counted frames to a trusted receiver', async () => {
    const l = await streamListener({ tls: inject('tlsCert') });
    const t = transport({ protocol: 'tls', port: l.port });
    const lines = ['<134>1 - h hostlock - - - [x@32473 a="b\\]"] één', '<134>1 - h hostlock - - - two'];
    for (const line of lines) {
      await t.send(line);
    }
    await vi.waitFor(() => expect(frames(l)).toEqual(lines), WAIT);
  });

  it('refuses a receiver whose certificate is not trusted, unless its CA is given', async () => {
    const l = await streamListener({ tls: untrusted });
    const refused = transport({ protocol: 'tls', port: l.port });
    await expect(refused.send('<134>secret')).rejects.toThrow(/connect failed: .*self[- ]signed/i);
    expect(l.received()).toHaveLength(0);

    const trusting = transport({ protocol: 'tls', port: l.port, ca: untrusted.cert });
    await trusting.send('<134>ok');
    await vi.waitFor(() => expect(frames(l)).toEqual(['<134>ok']), WAIT);
  });

  it('gives up on a handshake that never completes', async () => {
    const l = await streamListener({ silent: true }); // plain TCP: never answers the ClientHello
    const t = transport({ protocol: 'tls', port: l.port, connectTimeoutMs: 100 });
    await expect(t.send('<134>x')).rejects.toThrow(/connect failed: timed out after 100 ms/);
  });
});

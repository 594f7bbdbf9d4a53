// A real rsyslog (Debian bookworm `rsyslog` 8.2302 + liblognorm 2.0.6) as a syslog receiver for
// tests, configured as in shared/reference/syslog.md §6–§7: imtcp (LF and octet-counted framing
// auto-detected) and imudp on one loopback port, `mmpstrucdata` for RFC 5424 SD, `mmnormalize`
// with a CEF or a JSON rulebase, and every message written as one JSON object per line.
// It runs in the foreground with a scratch directory: no imuxsock (/dev/log), no imklog, no port 514.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestCertificate } from './tls.js';

const HOST = '127.0.0.1';
export const RSYSLOGD = process.env.RSYSLOGD ?? '/usr/sbin/rsyslogd';
const MODULE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/rsyslog',
  '/usr/lib/aarch64-linux-gnu/rsyslog',
  '/usr/lib/rsyslog',
  '/usr/lib64/rsyslog',
];
const NEEDED_MODULES = ['imtcp.so', 'imudp.so', 'mmpstrucdata.so', 'mmnormalize.so'];

/** The APP-NAME of readiness probes; {@link Rsyslog.lines} leaves their lines out. */
export const PROBE_APP = 'hostlock-probe';

function moduleDir(): string | undefined {
  return MODULE_DIRS.find((d) => NEEDED_MODULES.every((m) => existsSync(path.join(d, m))));
}

/** rsyslogd and the modules the config loads are installed (`apt-get install rsyslog`). */
export function rsyslogAvailable(): boolean {
  const ok = existsSync(RSYSLOGD) && moduleDir() !== undefined;
  if (!ok) {
    console.log('rsyslog not installed: apt-get install rsyslog');
  }
  return ok;
}

/** rsyslog's TLS stream driver is installed too (`apt-get install rsyslog-openssl`). */
export function rsyslogTlsAvailable(): boolean {
  const dir = moduleDir();
  const ok = dir !== undefined && existsSync(path.join(dir, 'lmnsd_ossl.so'));
  if (!ok) {
    console.log('rsyslog TLS not installed: apt-get install rsyslog-openssl');
  }
  return ok;
}

/** One output line: the syslog properties rsyslog parsed, and its message tree `$!`. */
export interface RsyslogLine {
  /** syslogtag, e.g. `vectra_cef` (RFC 3164) or `hostlock[4242]` (RFC 5424) */
  tag: string;
  app: string;
  host: string;
  msgid: string;
  /** timereported, RFC 3339 */
  ts: string;
  /** the raw STRUCTURED-DATA, `-` when none */
  sd: string;
  msg: string;
  /** `$!`: `rcv` always; `rfc5424-sd` (mmpstrucdata), `cef` or `j` (mmnormalize) when parsed */
  parsed: Record<string, unknown>;
}

export interface Rsyslog {
  /** the TCP and UDP port, on 127.0.0.1 */
  port: number;
  /** a TLS port (imtcp with the `ossl` stream driver, both framings), when rsyslog-openssl is installed */
  tls?: { port: number; ca: string };
  /** every message received so far, in order, probes left out */
  lines(): Promise<RsyslogLine[]>;
  /** {@link lines} once there are at least `n` (polls the output file; throws after `timeoutMs`) */
  waitForLines(n: number, timeoutMs?: number): Promise<RsyslogLine[]>;
  /** {@link lines} once `done(lines)` holds (polls; throws after `timeoutMs` naming `what`) */
  waitFor(done: (lines: RsyslogLine[]) => boolean, what: string, timeoutMs?: number): Promise<RsyslogLine[]>;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** Starts again on the same port, appending to the same output file. */
  restart(): Promise<void>;
  /** {@link stop}, then removes the scratch directory. */
  dispose(): Promise<void>;
}

/** A loopback port free for both TCP and UDP right now. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, resolve);
    });
    const { port } = server.address() as net.AddressInfo;
    const udp = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, HOST, () => resolve(true));
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (bound) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no loopback port free for both TCP and UDP');
}

// liblognorm v2 rulebases (syslog.md §7). `char-to` skips the TAG remainder (` -: ` after
// `vectra_cef`) up to the first `C`; the second rule takes a message that starts with `CEF:`
// (CEF inside an RFC 5424 header).
const CEF_RULEBASE = 'version=2\nrule=:%-:char-to{"extradata":"C"}%%cef:cef%\nrule=:%cef:cef%\n';
const JSON_RULEBASE = 'version=2\nrule=:%-:whitespace%-: %j:json%\nrule=:%j:json%\n';

function config(
  dir: string,
  port: number,
  tls?: { port: number; certPath: string; keyPath: string },
): string {
  const out = path.join(dir, 'out.jsonl');
  const prop = (key: string, name: string, extra = '') =>
    `  constant(value="\\"${key}\\":\\"") property(name="${name}" format="json"${extra}) constant(value="\\",")`;
  return `# generated by test/fakes/rsyslog.ts
global(workDirectory="${dir}" maxMessageSize="64k" processInternalMessages="on")
module(load="imtcp")
module(load="imudp")
module(load="mmpstrucdata")
module(load="mmnormalize")
input(type="imtcp" port="${port}" address="${HOST}" ruleset="r")
input(type="imudp" port="${port}" address="${HOST}" ruleset="r")
${
  tls
    ? `input(type="imtcp" port="${tls.port}" address="${HOST}" ruleset="r" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon" streamDriver.certFile="${tls.certPath}" streamDriver.keyFile="${tls.keyPath}")`
    : ''
}
template(name="line" type="list") {
  constant(value="{")
${prop('tag', 'syslogtag')}
${prop('app', 'app-name')}
${prop('host', 'hostname')}
${prop('msgid', 'msgid')}
${prop('ts', 'timereported', ' dateFormat="rfc3339"')}
${prop('sd', 'structured-data')}
${prop('msg', 'msg')}
  constant(value="\\"parsed\\":") property(name="$!")
  constant(value="}\\n")
}
ruleset(name="r") {
  # $! is never empty, so "parsed" is always a JSON object
  set $!rcv = "1";
  action(type="mmpstrucdata")
  if ($msg contains "CEF:") then {
    action(type="mmnormalize" rulebase="${path.join(dir, 'cef.rb')}")
  } else if ($msg contains "{") then {
    action(type="mmnormalize" rulebase="${path.join(dir, 'json.rb')}")
  }
  action(type="omfile" file="${out}" template="line")
}
# rsyslog's own messages (errors, start/stop) go to a scratch file, never to /dev/log
action(type="omfile" file="${path.join(dir, 'internal.log')}")
`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function parseLines(text: string, file: string): RsyslogLine[] {
  const rows = text.split('\n');
  rows.pop(); // the part after the last LF: empty, or a line rsyslog is still writing
  return rows.map((row, i) => {
    try {
      return JSON.parse(row) as RsyslogLine;
    } catch (err) {
      throw new Error(`${file}:${i + 1} is not valid JSON (${String(err)}): ${row}`);
    }
  });
}

/** Starts rsyslogd on a free loopback port; resolves once TCP and UDP input are both taking messages. */
export async function startRsyslog(): Promise<Rsyslog> {
  const modules = moduleDir();
  if (!existsSync(RSYSLOGD) || modules === undefined) {
    throw new Error('rsyslog not installed: apt-get install rsyslog');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-rsyslog-'));
  const port = await freePort();
  const conf = path.join(dir, 'rsyslog.conf');
  const out = path.join(dir, 'out.jsonl');
  await writeFile(path.join(dir, 'cef.rb'), CEF_RULEBASE);
  await writeFile(path.join(dir, 'json.rb'), JSON_RULEBASE);
  // TLS (RFC 5425) when Debian's rsyslog-openssl is installed: imtcp's ossl stream driver
  const cert = existsSync(path.join(modules, 'lmnsd_ossl.so')) ? await createTestCertificate(dir) : undefined;
  const tls = cert ? { port: await freePort(), ...cert } : undefined;
  await writeFile(conf, config(dir, port, tls));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const diagnostics = async () => {
    const internal = await readFile(path.join(dir, 'internal.log'), 'utf8').catch(() => '');
    return `rsyslogd stderr:\n${stderr.slice(-4000)}\nrsyslogd internal log:\n${internal.slice(-4000)}`;
  };

  const readAll = async (): Promise<RsyslogLine[]> => {
    let text: string;
    try {
      text = await readFile(out, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return [];
      }
      throw err;
    }
    return parseLines(text, out);
  };

  const lines = async () => (await readAll()).filter((l) => l.app !== PROBE_APP);

  const waitFor = async (
    done: (lines: RsyslogLine[]) => boolean,
    what: string,
    timeoutMs = 10_000,
    source: () => Promise<RsyslogLine[]> = lines,
  ): Promise<RsyslogLine[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await source();
      if (done(got)) {
        return got;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `rsyslog: timed out after ${timeoutMs} ms waiting for ${what} (have ${got.length} lines)\n${await diagnostics()}`,
        );
      }
      await delay(20); // polling interval, not synchronisation
    }
  };

  const launch = async () => {
    stderr = '';
    const c = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid'), '-M', modules], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let gone = false;
    exited = new Promise<void>((resolve) => {
      c.once('exit', () => {
        gone = true;
        resolve();
      });
      c.once('error', (err) => {
        stderr += `spawn failed: ${err.message}\n`;
        gone = true;
        resolve();
      });
    });
    child = c;
    // Ready for TCP: a connection is accepted.
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port)) || (tls && !(await canConnect(tls.port)))) {
      if (gone || Date.now() > deadline) {
        throw new Error(`rsyslogd did not listen on tcp/${port}\n${await diagnostics()}`);
      }
      await delay(20);
    }
    // Ready for UDP: a probe datagram comes out (sent again until one does; probes are filtered).
    const nonce = `probe-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const probe = Buffer.from(`<134>1 - hostlock-test ${PROBE_APP} - PROBE - ${nonce}`);
    const udp = dgram.createSocket('udp4');
    udp.on('error', () => {}); // ICMP port unreachable before imudp binds: the next probe retries
    const timer = setInterval(() => udp.send(probe, port, HOST), 100);
    udp.send(probe, port, HOST);
    try {
      await waitFor((all) => all.some((l) => l.msg.includes(nonce)), 'the UDP probe', 15_000, readAll);
    } finally {
      clearInterval(timer);
      udp.close();
    }
  };

  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) {
      await exited;
      return;
    }
    c.kill('SIGTERM');
    const killer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };

  try {
    await launch();
  } catch (err) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', killOnExit);
    throw err;
  }

  return {
    port,
    ...(tls ? { tls: { port: tls.port, ca: tls.cert } } : {}),
    lines,
    waitForLines: (n, timeoutMs) => waitFor((l) => l.length >= n, `${n} lines`, timeoutMs),
    waitFor: (done, what, timeoutMs) => waitFor(done, what, timeoutMs),
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

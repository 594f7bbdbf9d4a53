// Splunk Connect for Syslog's Vectra handling on a real syslog-ng (Debian bookworm `syslog-ng-core`
// 3.38, what SC4S is built on), for the SIEM conformance tests (issue #19). Written from SC4S's
// sources (splunk/splunk-connect-for-syslog @ 291da935):
// - listeners (package/shared/conf.d/sources/source_syslog/plugin.jinja, package/sbin/entrypoint.sh):
//   514/TCP+UDP and 6514/TLS through `network()` (newline-framed), 601/TCP and 5425/TLS through
//   `syslog()` (octet-counted);
// - Vectra JSON (package/shared/addons/vectra/app-syslog-vectra_json.conf): PROGRAM with the prefix
//   `vectra_json`; the timestamp read by `'"vectra_timestamp"\:\s"(?<timestamp>[^"]+)"'` (a failed
//   match fails the parser); `-: ` cut from MESSAGE; sourcetype `vectra:cognito:detect:json`, or
//   `vectra:cognito:hostlockdown:json` when MESSAGE has a `"host_…":` key and `"success":`;
// - Vectra CEF (package/shared/addons/vectra/app-cef-vectra.conf): the CEF header split on `|`
//   (conflib/syslog/app-syslog-cef.conf's csv-parser columns), vendor `Vectra Networks` and product
//   `X Series` → `vectra:cognito:detect` (SC4S has no host-lockdown class for CEF; `lockdown` is
//   its account lockdown), other CEF → `cef`;
// - anything else → `sc4s:fallback`, as SC4S files what no rule claims.
// The ports are free loopback ports standing for 514, 6514, 601 and 5425.
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canConnect, freePort } from './rsyslog.js';
import { createTestCertificate } from './tls.js';

const HOST = '127.0.0.1';
const PROBE = 'hostlock-probe';
/**
 * Debian's syslog-ng-core conflicts with rsyslog (both are "the system log daemon"), and the syslog
 * tests need rsyslog installed: .ci/run extracts the syslog-ng-core package here instead.
 */
export const SYSLOG_NG_ROOT = process.env.SYSLOG_NG_ROOT ?? '/opt/syslog-ng-core';

/** The syslog-ng binary and how to run it: installed, or extracted under {@link SYSLOG_NG_ROOT}. */
function syslogNg(): { bin: string; args: string[]; env: NodeJS.ProcessEnv } | undefined {
  if (existsSync('/usr/sbin/syslog-ng')) {
    return { bin: '/usr/sbin/syslog-ng', args: [], env: process.env };
  }
  const bin = path.join(SYSLOG_NG_ROOT, 'usr/sbin/syslog-ng');
  const lib = path.join(SYSLOG_NG_ROOT, 'usr/lib/syslog-ng');
  const modules = existsSync(lib) ? readdirSync(lib).find((d) => /^\d+\.\d+$/.test(d)) : undefined;
  if (!existsSync(bin) || !modules) {
    return undefined;
  }
  return {
    bin,
    args: [`--module-path=${path.join(lib, modules)}`],
    env: { ...process.env, LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
  };
}

/** syslog-ng is there (see {@link SYSLOG_NG_ROOT}); says so when it is not. */
export function syslogNgAvailable(): boolean {
  const ok = syslogNg() !== undefined;
  if (!ok) {
    console.log(
      `syslog-ng not found in /usr/sbin or ${SYSLOG_NG_ROOT}: run .ci/run (it extracts the syslog-ng-core package there)`,
    );
  }
  return ok;
}

/** One event as SC4S would index it. */
export interface Sc4sEvent {
  sourcetype: string;
  /** the listener it came in on: `s_514` (TCP or UDP), `s_6514`, `s_601`, `s_5425` */
  SOURCE: string;
  PROGRAM?: string;
  HOST?: string;
  MESSAGE: string;
  /** `timestamp`: what the Vectra JSON rule read as the event time (epoch seconds) */
  _tmp?: Record<string, string>;
  /** `cef`: the CEF header columns */
  _metadata?: { cef?: Record<string, string> };
}

export interface Sc4s {
  ports: { tcp514: number; udp514: number; tls6514: number; tcp601: number; tls5425: number };
  /** PEM of the TLS listeners' certificate, for the sender's `ca` */
  ca: string;
  events(): Promise<Sc4sEvent[]>;
  waitFor(done: (events: Sc4sEvent[]) => boolean, what: string, timeoutMs?: number): Promise<Sc4sEvent[]>;
  dispose(): Promise<void>;
}

function config(dir: string, p: Sc4s['ports'], cert: { certPath: string; keyPath: string }): string {
  const tls = `tls(key-file("${cert.keyPath}") cert-file("${cert.certPath}") peer-verify(optional-untrusted))`;
  return `@version: 3.38
options { keep-hostname(yes); stats-freq(0); create-dirs(no); };
source s_514 {
  network(ip(${HOST}) port(${p.tcp514}) transport(tcp) flags(validate-utf8));
  network(ip(${HOST}) port(${p.udp514}) transport(udp) flags(validate-utf8));
};
source s_6514 { network(ip(${HOST}) port(${p.tls6514}) transport(tls) ${tls} flags(validate-utf8)); };
source s_601 { syslog(ip(${HOST}) port(${p.tcp601}) transport(tcp)); };
source s_5425 { syslog(ip(${HOST}) port(${p.tls5425}) transport(tls) ${tls}); };
destination d_out {
  file("${path.join(dir, 'out.jsonl')}"
    template("$(format-json --key PROGRAM --key HOST --key MESSAGE --key SOURCE --key .tmp.* --key .metadata.* --key sourcetype)\\n"));
};
log {
  source(s_514); source(s_6514); source(s_601); source(s_5425);
  if (program('vectra_json' type(string) flags(prefix))) {
    parser { regexp-parser(prefix(".tmp.") patterns('\\"vectra_timestamp\\"\\:\\s\\"(?<timestamp>[^\\"]+)\\"') template("$MESSAGE")); };
    rewrite { subst('\\-\\:\\s', "", value("MESSAGE")); };
    rewrite { set("vectra:cognito:detect:json" value("sourcetype")); };
    rewrite {
      set("vectra:cognito:hostlockdown:json" value("sourcetype")
        condition(message('\\"host_\\w+\\"\\:') and message('\\"success\\"\\:')));
    };
  } elif (message('CEF:0' type(string) flags(substring))) {
    rewrite { set("$MESSAGE" value(".tmp.cef")); subst('^.*?CEF:', "CEF:", value(".tmp.cef")); };
    parser {
      csv-parser(columns('version', 'device_vendor', 'device_product', 'device_version', 'device_event_class', 'name', 'severity', 'ext')
        prefix('.metadata.cef.') delimiters(chars('|')) dialect(escape-backslash) flags(greedy) quote-pairs('') template("\${.tmp.cef}"));
    };
    rewrite { set("cef" value("sourcetype")); };
    if (match("Vectra Networks" value(".metadata.cef.device_vendor")) and match("X Series" value(".metadata.cef.device_product"))) {
      rewrite { set("vectra:cognito:detect" value("sourcetype")); };
    };
  } else {
    rewrite { set("sc4s:fallback" value("sourcetype")); };
  };
  destination(d_out);
};
`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts syslog-ng with SC4S's listeners and Vectra rules; resolves once every listener takes messages. */
export async function startSc4s(): Promise<Sc4s> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-sc4s-'));
  const cert = await createTestCertificate(dir);
  const ports = {
    tcp514: await freePort(),
    udp514: 0,
    tls6514: await freePort(),
    tcp601: await freePort(),
    tls5425: await freePort(),
  };
  ports.udp514 = ports.tcp514;
  const conf = path.join(dir, 'syslog-ng.conf');
  await writeFile(conf, config(dir, ports, cert));
  let stderr = '';
  const sng = syslogNg();
  if (!sng) {
    throw new Error(`syslog-ng not found in /usr/sbin or ${SYSLOG_NG_ROOT}`);
  }
  const child: ChildProcess = spawn(
    sng.bin,
    [
      ...sng.args,
      '-F',
      '-e',
      '-f',
      conf,
      '-R',
      path.join(dir, 'persist'),
      '-c',
      path.join(dir, 'ctl'),
      '-p',
      path.join(dir, 'pid'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: sng.env },
  );
  child.stdout?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const out = path.join(dir, 'out.jsonl');
  const all = async (): Promise<Sc4sEvent[]> => {
    const text = await readFile(out, 'utf8').catch(() => '');
    // only whole lines: syslog-ng may be writing the last one as we read
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Sc4sEvent);
  };
  const events = async () => (await all()).filter((e) => e.PROGRAM !== PROBE);
  const waitFor = async (
    done: (events: Sc4sEvent[]) => boolean,
    what: string,
    timeoutMs = 10_000,
    source: () => Promise<Sc4sEvent[]> = events,
  ) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await source();
      if (done(got)) {
        return got;
      }
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(
          `syslog-ng (SC4S): no ${what} after ${timeoutMs} ms (have ${got.length})\n${stderr.slice(-3000)}`,
        );
      }
      await delay(20); // polling interval, not synchronisation
    }
  };
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    process.off('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (const port of [ports.tcp514, ports.tls6514, ports.tcp601, ports.tls5425]) {
      const deadline = Date.now() + 15_000;
      while (!(await canConnect(port))) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`syslog-ng did not listen on tcp/${port}\n${stderr.slice(-3000)}`);
        }
        await delay(20);
      }
    }
    // UDP: a probe datagram comes out (sent again until one does; probes are filtered out)
    const nonce = `n${Date.now()}${Math.random().toString(36).slice(2)}`;
    const probe = Buffer.from(`<134>Dec  5 00:00:00 probe ${PROBE}: ${nonce}`);
    const udp = dgram.createSocket('udp4');
    udp.on('error', () => {});
    const timer = setInterval(() => udp.send(probe, ports.udp514, HOST), 100);
    try {
      await waitFor((got) => got.some((e) => e.MESSAGE.includes(nonce)), 'UDP probe', 15_000, all);
    } finally {
      clearInterval(timer);
      udp.close();
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { ports, ca: cert.cert, events, waitFor, dispose };
}

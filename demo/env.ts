// Boots everything the demo plays against, in this process: embedded PostgreSQL in a scratch
// directory, the Slack peer, the Defender peer (HTTPS, trusted through NODE_EXTRA_CA_CERTS set by
// run.ts), a TCP syslog receiver and hostlock itself, as test/helpers/harness.ts does without vitest.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/db/embedded.js';
import { type Hostlock, startHostlock } from '../src/hostlock.js';
import { createLogger } from '../src/log.js';
import { type MdeMachine, type MdePeer, startMdePeer } from '../test/fakes/mde-peer.js';
import { createDatabaseOn } from '../test/fakes/relaunch.js';
import { type SlackPeer, startSlackPeer } from '../test/fakes/slack-peer.js';
import { SlackSigner } from '../test/fakes/slack-signer.js';
import { type SyslogListener, startSyslogListener } from './syslog-listener.js';

const BOT_TOKEN = 'xoxb-demo-bot-token';
const SIGNING_SECRET = 'demo-signing-secret-0123456789abcdef';

/** The Entra ID app registration the Defender peer knows; carol types these into the settings modal. */
export const MDE_APP = {
  tenantId: '5e1f0c3a-0000-4000-8000-00000000c0de',
  clientId: '7d2e1b4c-0000-4000-8000-0000000000bb',
  secret: 'demo~client-secret-value',
};

/** The people of the incident, as Slack users. */
export const PEOPLE = {
  alice: { id: 'U0ALICE001', name: 'alice', role: 'responder, asks' },
  bob: { id: 'U0BOB00001', name: 'bob', role: 'responder, approves' },
  carol: { id: 'U0CAROL001', name: 'carol', role: 'admin' },
} as const;
export type Person = keyof typeof PEOPLE;

export const CHANNELS = {
  incident: { id: 'C0INCIDENT', name: 'incident-42' },
  approvals: { id: 'C0APPROVAL', name: 'oncall-approvals' },
  alerts: { id: 'C0SOCALERT', name: 'soc-alerts' },
} as const;

export interface DemoEnv {
  hostlock: Hostlock;
  slack: SlackPeer;
  mde: MdePeer;
  signer: SlackSigner;
  syslog: SyslogListener;
  machines: MdeMachine[];
  /** every line hostlock logged (warn and above) */
  logs: string[];
  /** stops hostlock, the peers, the receiver, then PostgreSQL; safe to call twice */
  close(): Promise<void>;
}

/** The fleet: two Windows workstations (ws-042 is the one in trouble), servers, a Mac. */
function fleet(mde: MdePeer): MdeMachine[] {
  const m = (name: string, extra: Partial<MdeMachine>) =>
    mde.machine({ computerDnsName: `${name}.contoso.com`, ...extra });
  return [
    m('ws-042', { osPlatform: 'Windows11', riskScore: 'High', machineTags: ['Finance'] }),
    m('ws-017', { osPlatform: 'Windows10', version: '22H2', osBuild: 19045 }),
    m('dc-01', { osPlatform: 'WindowsServer2022', version: '21H2', osBuild: 20348, deviceValue: 'High' }),
    m('fs-02', { osPlatform: 'WindowsServer2019', version: '1809', osBuild: 17763 }),
    m('mac-lt-07', { osPlatform: 'macOS', version: '14.5', osBuild: null, agentVersion: '101.24082.0004' }),
  ];
}

/** Stop steps run last-in first-out; `close()` may be called again (Ctrl-C, then a `finally`). */
export interface Closer {
  push(step: () => Promise<void>): void;
  close(): Promise<void>;
}

export function createCloser(): Closer {
  const steps: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  return {
    push: (step) => void steps.push(step),
    close() {
      closing ??= (async () => {
        for (const step of steps.splice(0).reverse()) {
          await step().catch((e: unknown) => console.error('demo: cleanup step failed:', e));
        }
      })();
      return closing;
    },
  };
}

/**
 * Starts everything under `dir` (a scratch directory holding the certificate `cert.pem`/`key.pem`),
 * registering how to stop each part with `closer` as soon as it runs, so Ctrl-C during the boot
 * stops what had started. On failure half-way, that is stopped before the error is thrown.
 */
export async function bootDemo(dir: string, closer: Closer): Promise<DemoEnv> {
  const close = () => closer.close();
  try {
    const quiet = { info: () => {}, warn: () => {} };
    const pgDir = path.join(dir, 'pg');
    // Runs last: a postgres started by an interrupted boot (no handle yet) is stopped through its lock file.
    closer.push(() => stopByPidFile(pgDir));
    const pg: EmbeddedDatabase = await startEmbeddedDatabase({
      dir: pgDir,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
      log: quiet,
    });
    closer.push(() => pg.stop());
    const databaseUrl = await createDatabaseOn(pg.url, 'hostlock_demo');

    const [cert, key] = await Promise.all([
      readFile(path.join(dir, 'cert.pem'), 'utf8'),
      readFile(path.join(dir, 'key.pem'), 'utf8'),
    ]);
    const mde = await startMdePeer({ tls: { cert, key } });
    closer.push(() => mde.close());
    mde.addApp({ ...MDE_APP, appName: 'hostlock' });
    const machines = fleet(mde);
    mde.addMachines(machines);

    const slack = await startSlackPeer({ botToken: BOT_TOKEN });
    closer.push(() => slack.close());
    for (const p of Object.values(PEOPLE)) {
      slack.addUser({ id: p.id, name: p.name, realName: p.name });
    }
    for (const c of Object.values(CHANNELS)) {
      slack.addChannel({ id: c.id, name: c.name, isMember: true });
    }

    const syslog = await startSyslogListener();
    closer.push(() => syslog.close());

    const config = loadConfig({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      HOSTLOCK_DATA_DIR: path.join(dir, 'data'),
      HOSTLOCK_MASTER_KEY: randomBytes(32).toString('base64'),
      HOSTLOCK_ADMINS: PEOPLE.carol.id,
      MDE_API_URL: mde.url,
      MDE_LOGIN_URL: mde.url,
      HOSTLOCK_ALLOW_LOOPBACK_ENDPOINTS: '1',
      HOSTLOCK_OPS_ADDR: '127.0.0.1:0',
      LOG_LEVEL: 'warn',
    });
    const logs: string[] = [];
    const hostlock = await startHostlock({
      config,
      databaseUrl,
      log: createLogger({ level: 'warn', destination: { write: (line: string) => void logs.push(line) } }),
      processEvery: '200 milliseconds',
      lockdownTickMs: 200,
      // Defender answers at once here; the engine looks at pending actions every 200 ms instead of 15 s.
      lockdownTiming: { trackEveryMs: 200, retryBackoffMs: [200, 500] },
    });
    closer.push(() => hostlock.stop());

    const signer = new SlackSigner({
      signingSecret: SIGNING_SECRET,
      eventsUrl: `${hostlock.url}/slack/events`,
      peer: slack,
      teamDomain: 'contoso-soc',
    });
    return { hostlock, slack, mde, signer, syslog, machines, logs, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Stops the postgres serving `pgDir`, if one still runs (found through postmaster.pid). */
export async function stopByPidFile(pgDir: string): Promise<void> {
  const pid = Number.parseInt(
    (await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0] ?? '',
    10,
  );
  const cmdline = pid > 0 ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
  if (!cmdline.includes(pgDir)) {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGINT'); // fast shutdown
  const deadline = Date.now() + 10_000;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

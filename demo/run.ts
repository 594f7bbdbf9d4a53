// `npm run demo`: hostlock against the in-repo Slack and Defender peers on embedded PostgreSQL,
// playing a scripted incident and printing what each person and each system sees. Nothing leaves
// this machine and no Slack app is needed.
// The parent makes a throwaway self-signed certificate for the Defender peer (HTTPS) and re-runs
// this file with NODE_EXTRA_CA_CERTS set (Node reads it only at start); the child does the work.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestCertificate } from '../test/fakes/tls.js';
import { bootDemo, createCloser, type DemoEnv, PEOPLE, stopByPidFile } from './env.js';
import { playIncident } from './incident.js';
import { setUp } from './setup-steps.js';
import { summarise } from './summary.js';
import { Transcript } from './transcript.js';

/** after Ctrl-C, how long hostlock may take to stop before the rest is stopped regardless */
const INTERRUPT_GRACE_MS = 3_000;
const progress = (msg: string) => console.error(`demo: ${msg}`);
/** set on Ctrl-C: whatever was in flight then fails on closed connections, which is no news */
let interrupted = false;

async function relaunch(): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hostlock-demo-'));
  try {
    await createTestCertificate(dir);
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'),
        HOSTLOCK_DEMO_CHILD: '1',
        HOSTLOCK_DEMO_DIR: dir,
      },
      stdio: 'inherit',
    });
    // Ctrl-C reaches the child through the process group; it cleans up and exits, then so do we.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', () => {});
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((resolve) =>
      child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))),
    );
    process.off('SIGTERM', forward);
    return code;
  } finally {
    // A child killed hard may leave its PostgreSQL behind: stop it before removing its files.
    await stopByPidFile(path.join(dir, 'pg'));
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

async function demo(dir: string): Promise<void> {
  const started = Date.now();
  progress('starting embedded PostgreSQL, the Slack and Defender peers, a syslog receiver and hostlock…');
  const closer = createCloser();
  const onSignal = () => {
    interrupted = true;
    progress('interrupted; stopping everything');
    // PostgreSQL got the same Ctrl-C and is going away: hostlock's graceful drain is bounded here,
    // then whatever still serves our cluster directory is stopped through its lock file.
    const grace = new Promise((r) => setTimeout(r, INTERRUPT_GRACE_MS).unref());
    void Promise.race([closer.close(), grace])
      .then(() => stopByPidFile(path.join(dir, 'pg')))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Ctrl-C in a terminal reaches PostgreSQL too (same process group): connections then end
  // with errors that are no news while we are stopping.
  process.on('uncaughtException', (e) => {
    if (interrupted) {
      return;
    }
    console.error('demo: failed:', e);
    void closer.close().finally(() => process.exit(1));
  });
  try {
    const env: DemoEnv = await bootDemo(dir, closer);
    const t = new Transcript(env);
    t.skip();
    console.log(
      `hostlock demo · booted in ${((Date.now() - started) / 1000).toFixed(1)} s · all on 127.0.0.1`,
    );
    console.log(
      `   hostlock ${env.hostlock.url} · Slack peer ${env.slack.url} · Defender peer ${env.mde.url}`,
    );
    console.log(
      `   syslog receiver tcp://127.0.0.1:${env.syslog.port} · Defender fleet: ${env.machines.map((m) => m.computerDnsName.split('.')[0]).join(', ')}`,
    );
    console.log(
      `   people: ${Object.values(PEOPLE)
        .map((p) => `${p.name} (${p.role})`)
        .join(' · ')}`,
    );
    await setUp(env, t);
    await playIncident(env, t);
    await summarise(env, t);
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress('stopping hostlock, the peers and PostgreSQL…');
    await closer.close();
  }
}

if (process.env.HOSTLOCK_DEMO_CHILD === '1') {
  try {
    await demo(process.env.HOSTLOCK_DEMO_DIR ?? '');
  } catch (e) {
    if (!interrupted) {
      console.error('demo: failed:', e);
    }
    process.exitCode = 1;
  }
  // Agenda leaves an unref-less watchdog timer behind after drain (as src/main.ts notes): without
  // an explicit exit the process lingers up to a minute after everything has stopped.
  process.exit();
} else {
  process.exitCode = await relaunch();
}

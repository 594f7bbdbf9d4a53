import path from 'node:path';
import { relaunchTrustingTestCa } from '../test/fakes/relaunch.js';
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
    await demo(process.env.HOSTLOCK_DEMO_CHILD_DIR ?? '');
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
  process.exitCode = await relaunchTrustingTestCa({
    prefix: 'hostlock-demo-',
    childEnv: 'HOSTLOCK_DEMO_CHILD',
    // A child killed hard may leave its PostgreSQL behind: stop it before removing its files.
    cleanup: (dir) => stopByPidFile(path.join(dir, 'pg')),
  });
}

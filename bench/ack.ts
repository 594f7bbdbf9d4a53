import { SLACK_EVENTS_PATH } from '../src/slack/app.js';
import { machineCpuMs } from './cpu-busy.mjs';
import { FLEET_PREFIX } from './defender-peer.js';
import { ANALYSTS, type BenchEnv, SIGNING_SECRET } from './env.js';
import { startSlackLoad } from './slack-load.js';
import { type Distribution, distribution, seededRandom } from './stats.js';
export interface AckFigures {
  concurrency: number;
  rounds: number;
  /** `/hostlock lookup <host>`, answered from the local inventory in the ack */
  lookup: Distribution;
  /** `/hostlock help`: the same signed POST through Bolt, no database */
  help: Distribution;
  /** commands answered per second while a burst drains: the inverse of hostlock's time per command */
  lookupPerSecond: number;
  helpPerSecond: number;
  /** CPU time the whole machine spent per command (hostlock, PostgreSQL, the load generator; /proc/stat) */
  lookupCpuMsPerCommand: number;
  helpCpuMsPerCommand: number;
}

/**
 * Slash-command acks under load: rounds of `concurrency` signed commands sent at once from a
 * separate process, lookup and help rounds alternating, after `warmup` rounds of each. Latency is
 * request → full ack body, as Slack's 3-second clock sees it. Every lookup ack must carry the
 * host's card, answered from the inventory the sync just wrote.
 */
export async function measureAcks(
  env: BenchEnv,
  o: { concurrency: number; rounds: number; warmup: number; fleetSize: number },
): Promise<AckFigures> {
  const random = seededRandom(99);
  const lo = Math.min(10_000, o.fleetSize - 1);
  const host = () => `${FLEET_PREFIX}-${lo + Math.floor(random() * (o.fleetSize - lo))}`;
  const load = await startSlackLoad({
    eventsUrl: `${env.hostlock.url}${SLACK_EVENTS_PATH}`,
    signingSecret: SIGNING_SECRET,
    userIds: ANALYSTS,
  });
  const wall = { lookup: 0, help: 0 };
  const cpu = { lookup: 0, help: 0 };
  const round = async (kind: 'lookup' | 'help'): Promise<number[]> => {
    const texts = Array.from({ length: o.concurrency }, () =>
      kind === 'help' ? 'help' : `lookup ${host()}`,
    );
    const busyBefore = machineCpuMs().busyMs;
    const { wallMs, acks } = await load.round(texts);
    cpu[kind] += machineCpuMs().busyMs - busyBefore;
    wall[kind] += wallMs;
    for (const [i, r] of acks.entries()) {
      const name = texts[i]?.slice('lookup '.length) ?? '';
      const ok =
        r.status === 200 &&
        (kind === 'help' ? r.body.includes('What you can do') : r.body.includes(`Host ${name}`));
      if (!ok) {
        throw new Error(`/hostlock ${texts[i]} answered ${r.status}: ${r.body.slice(0, 300)}`);
      }
    }
    return acks.map((r) => r.elapsedMs);
  };
  try {
    for (let i = 0; i < o.warmup; i++) {
      await round('lookup');
      await round('help');
    }
    wall.lookup = 0;
    wall.help = 0;
    cpu.lookup = 0;
    cpu.help = 0;
    const lookup: number[] = [];
    const help: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      lookup.push(...(await round('lookup')));
      help.push(...(await round('help')));
    }
    return {
      concurrency: o.concurrency,
      rounds: o.rounds,
      lookup: distribution(lookup),
      help: distribution(help),
      lookupPerSecond: lookup.length / (wall.lookup / 1000),
      helpPerSecond: help.length / (wall.help / 1000),
      lookupCpuMsPerCommand: cpu.lookup / lookup.length,
      helpCpuMsPerCommand: cpu.help / help.length,
    };
  } finally {
    await load.close();
  }
}

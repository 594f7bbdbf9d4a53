import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

/** Parent → load process: send these command texts at once. */
export interface LoadRound {
  texts: string[];
}

/** Load process → parent. */
export type LoadReply =
  | { type: 'ready' }
  | { type: 'round'; wallMs: number; acks: { status: number; body: string; elapsedMs: number }[] }
  | { type: 'failed'; error: string };

/** Slack's side of the slash commands, in its own process so its CPU is not hostlock's. */
export interface SlackLoad {
  /** signs and POSTs every text as `/hostlock <text>` at once; resolves with each ack */
  round(texts: string[]): Promise<Omit<Extract<LoadReply, { type: 'round' }>, 'type'>>;
  close(): Promise<void>;
}

export async function startSlackLoad(o: {
  eventsUrl: string;
  signingSecret: string;
  /** the senders, taken in turn */
  userIds: readonly string[];
}): Promise<SlackLoad> {
  const child = fork(path.join(import.meta.dirname, 'slack-load-main.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_EVENTS_URL: o.eventsUrl,
      BENCH_SIGNING_SECRET: o.signingSecret,
      BENCH_USER_IDS: o.userIds.join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await next(child, 'ready');
  return {
    async round(texts) {
      const reply = next(child, 'round');
      child.send({ texts } satisfies LoadRound);
      const { wallMs, acks } = await reply;
      return { wallMs, acks };
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.disconnect();
        await exited;
      }
    },
  };
}

function next<T extends LoadReply['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<LoadReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: LoadReply) => {
      done();
      if (m.type === type) {
        resolve(m as Extract<LoadReply, { type: T }>);
      } else {
        reject(new Error(`the Slack load process answered ${m.type === 'failed' ? m.error : m.type}`));
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`the Slack load process exited (code ${code}) while the bench waited for "${type}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the Slack load process did not answer "${type}" within 60 s`));
    }, 60_000);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

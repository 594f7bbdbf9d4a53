// Slack's side of the ack benchmark: signing, form encoding and the HTTP client run here, on their
// own event loop, so the latencies measured are hostlock's answer time, not the load generator's.
import { SlackSigner } from '../test/fakes/slack-signer.js';
import type { LoadReply, LoadRound } from './slack-load.js';

const send = (m: LoadReply) => process.send?.(m);
const signer = new SlackSigner({
  signingSecret: process.env.BENCH_SIGNING_SECRET ?? '',
  eventsUrl: process.env.BENCH_EVENTS_URL ?? '',
});
const userIds = (process.env.BENCH_USER_IDS ?? '').split(',').filter(Boolean);
let turn = 0;
const nextUser = () => userIds[turn++ % userIds.length] ?? '';

process.on('message', (m: LoadRound) => {
  const started = performance.now();
  Promise.all(m.texts.map((text) => signer.command({ text, userId: nextUser() })))
    .then((acks) =>
      send({
        type: 'round',
        wallMs: performance.now() - started,
        acks: acks.map((r) => ({ status: r.status, body: r.text, elapsedMs: r.elapsedMs })),
      }),
    )
    .catch((e: unknown) => send({ type: 'failed', error: e instanceof Error ? e.message : String(e) }));
});
send({ type: 'ready' });

// The Defender peer in a process of its own: its 100 000 generated machines are a few hundred MB of
// objects that must not count in hostlock's RSS, and a real Defender does not serve its JSON from
// hostlock's CPU either.
import { readFile } from 'node:fs/promises';
import { startMdePeer } from '../test/fakes/mde-peer.js';
import { FLEET_PREFIX, MDE_APP, type PeerCommand, type PeerReply } from './defender-peer.js';

const send = (m: PeerReply) => process.send?.(m);

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_PEER_MACHINES);
  const [cert, key] = await Promise.all([
    readFile(process.env.BENCH_PEER_CERT ?? '', 'utf8'),
    readFile(process.env.BENCH_PEER_KEY ?? '', 'utf8'),
  ]);
  const peer = await startMdePeer({ tls: { cert, key } });
  peer.addApp(MDE_APP);
  const started = performance.now();
  peer.addMachines(peer.generateMachines(count, { prefix: FLEET_PREFIX }));
  const generateMs = performance.now() - started;

  // Without the bench (it exited, or was killed) nobody will send `close`: stop serving and exit.
  process.once('disconnect', () => {
    void peer.close().finally(() => process.exit());
  });
  process.on('message', (m: PeerCommand) => {
    if (m.op === 'stats') {
      send({
        type: 'stats',
        listCalls: peer.requests.filter((r) => r.method === 'GET' && r.path === '/api/machines').length,
        apiCalls: peer.requests.filter((r) => r.path.startsWith('/api/')).length,
        rss: process.memoryUsage().rss,
      });
    } else if (m.op === 'requests') {
      send({
        type: 'requests',
        next: peer.requests.length,
        requests: peer.requests.slice(m.since).map((r) => ({
          method: r.method,
          path: r.path,
          status: r.status,
          atMs: r.at.getTime(),
        })),
      });
    } else if (m.op === 'addActions') {
      const ids = m.actions.map((a) => {
        const at = new Date(a.atMs ?? Date.now()).toISOString();
        return peer.addAction({
          machineId: a.machineId,
          type: a.type,
          status: 'Succeeded',
          requestor: `${MDE_APP.appName} (contoso.onmicrosoft.com)`,
          requestorComment: a.comment,
          requestSource: 'PublicApi',
          scope: a.type === 'Isolate' ? 'Full' : null,
          creationDateTimeUtc: at,
          lastUpdateDateTimeUtc: at,
        }).id;
      });
      send({ type: 'actionsAdded', ids });
    } else if (m.op === 'close') {
      void peer.close().finally(() => {
        send({ type: 'closed' });
        process.disconnect();
      });
    }
  });
  send({ type: 'ready', url: peer.url, machines: count, generateMs });
}

main().catch((e: unknown) => {
  send({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
  process.disconnect?.();
});

/**
 * A TCP proxy on 127.0.0.1 that can simulate a *silent* partition: `freeze()` stops moving bytes in both
 * directions without closing any socket, so neither end sees an error, an EOF or a reset (unlike killing a
 * process or closing a socket, which the peer notices at once). Connections accepted while frozen are
 * black holes too. `unfreeze()` delivers what was held back, as TCP's retransmissions do after a network
 * heals, and a close that happened during the freeze reaches the other end only then.
 */
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  freeze(): void;
  unfreeze(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let frozen = false;
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const upstream = netConnect({ host: targetHost, port: targetPort });
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    forward(client, upstream, () => frozen);
    forward(upstream, client, () => frozen);
    const forget = () => {
      if (client.destroyed && upstream.destroyed) pairs.delete(pair);
    };
    client.on('close', forget);
    upstream.on('close', forget);
    if (!frozen) client.resume();
    else upstream.pause();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    freeze() {
      frozen = true;
      // Stop reading: bytes stay in the kernel's buffers, as they would in a dead network's queues.
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    unfreeze() {
      frozen = false;
      for (const { client, upstream } of pairs) {
        client.emit('unfreeze');
        upstream.emit('unfreeze');
        client.resume();
        upstream.resume();
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Copies `from` to `to` unless frozen; while frozen, holds back chunks that were already read and the
 * end/error of `from`, and delivers them on the `unfreeze` event.
 */
function forward(from: Socket, to: Socket, isFrozen: () => boolean): void {
  const held: Array<Buffer | 'end' | 'destroy'> = [];
  const deliver = (item: Buffer | 'end' | 'destroy') => {
    if (to.destroyed) return;
    if (item === 'end') to.end();
    else if (item === 'destroy') to.destroy();
    else to.write(item);
  };
  const handle = (item: Buffer | 'end' | 'destroy') => (isFrozen() ? held.push(item) : deliver(item));
  from.on('data', (chunk: Buffer) => handle(chunk));
  from.on('end', () => handle('end'));
  from.on('error', () => handle('destroy'));
  from.on('unfreeze', () => {
    for (const item of held.splice(0)) deliver(item);
  });
}

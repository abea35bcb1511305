/**
 * A TCP relay of the fault suite's own, in front of the shared PostgreSQL: the instances connect
 * through it, so the suite can make PostgreSQL unreachable for them (refuse new connections, cut
 * the open ones) and reachable again, without touching the shared cluster or other tests' databases.
 */
import net from 'node:net';

export interface TcpRelay {
  port: number;
  /** Open relayed connections right now. */
  readonly openConnections: number;
  /** Stops listening: new connections are refused (ECONNREFUSED), open ones keep relaying. */
  refuseNew(): Promise<void>;
  /** Resets every open connection, like a crashed host or a cut cable. */
  cutAll(): void;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  // close() calls back only once every connection is gone, which cutAll decides, not this.
  const stopListening = () => {
    if (server.listening) server.close();
  };

  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  const cutAll = () => {
    for (const { client, upstream } of pairs) {
      // A reset rather than an orderly close: the instance sees ECONNRESET, as on a cut network.
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get openConnections() {
      return pairs.size;
    },
    async refuseNew() {
      stopListening();
    },
    cutAll,
    async resume() {
      if (!server.listening) await listen(port);
    },
    async close() {
      stopListening();
      cutAll();
    },
  };
}

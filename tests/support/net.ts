import net from 'node:net';

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TcpProxy {
  port: number;
  /** Open relayed connections right now. */
  readonly openConnections: number;
  /** Stops listening: new connections are refused (ECONNREFUSED), open ones keep relaying. */
  refuseNew(): Promise<void>;
  /** Resets every open connection, like a crashed host or a cut cable (the client sees ECONNRESET). */
  cutAll(): void;
  /** Both: the server is gone, as if it had crashed. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real TCP relay to a real server (PostgreSQL, Redis), so that a test can make that server
 * unreachable and reachable again without touching the server itself, which other tests share.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
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
  const refuseNew = async () => {
    if (server.listening) server.close();
  };
  const cutAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  const cut = async () => {
    await refuseNew();
    cutAll();
  };

  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get openConnections() {
      return pairs.size;
    },
    refuseNew,
    cutAll,
    cut,
    restore: async () => {
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}

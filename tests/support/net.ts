import net from 'node:net';

/** Below Linux's ephemeral range (32768-60999), where the kernel picks ports for `listen(0)` and outgoing connections. */
const PICK_FROM = 20_000;
const PICK_TO = 32_000;

/** Whether the port can be listened on, on every interface, right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nobody listens on right now, for a child process to take a moment later. It is drawn
 * below the kernel's ephemeral range: a port the kernel handed out (to `listen(0)` or as the source
 * port of one of the suite's many connections) could be taken again between the pick and the child's
 * bind, and once made a service's start fail with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = PICK_FROM + Math.floor(Math.random() * (PICK_TO - PICK_FROM));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${PICK_FROM} and ${PICK_TO} after 100 tries`);
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

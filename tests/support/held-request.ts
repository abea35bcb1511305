/**
 * A request held in flight on purpose: its headers and half its body are sent, the rest only when
 * the suite says so. While it is held, the server has accepted the request and is waiting for the
 * body, so it is certainly in flight when the suite signals the server.
 */
import http from 'node:http';

export interface HeldReply {
  status?: number;
  headers?: http.IncomingHttpHeaders;
  body?: any;
  networkError?: string;
}

export interface HeldRequest {
  /** Sends the rest of the body; resolves with the answer, or with the network error instead. */
  finish(): Promise<HeldReply>;
  /** Resolves when the request's connection closes, whoever closes it. */
  closed: Promise<void>;
}

export interface HoldOptions {
  /**
   * Send the request as a keep-alive client does (`Connection: keep-alive`, through a keep-alive
   * agent that would keep the socket for the next request), so that a `Connection: close` answer
   * and a closed socket can only come from the server. Without it (the default), the request says
   * `Connection: close` itself.
   */
  keepAlive?: boolean;
}

/** POSTs `body` as JSON to `url` on a connection of its own, stopping halfway through the body. */
export async function holdRequest(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: HoldOptions = {},
): Promise<HeldRequest> {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const agent = options.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
  const request = http.request(url, {
    method: 'POST',
    agent,
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(bytes.length) },
  });
  const closed = new Promise<void>((resolve) =>
    request.once('socket', (socket) => socket.once('close', () => resolve())),
  );
  if (agent) void closed.then(() => agent.destroy());
  const reply = new Promise<HeldReply>((resolve) => {
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ networkError: error.code ?? error.message }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: response.statusCode, networkError: error.code ?? error.message }),
      );
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: response.statusCode, headers: response.headers, body: parsed });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    request.write(bytes.subarray(0, half), (error) => (error ? reject(error) : resolve()));
  });
  return {
    closed,
    finish() {
      if (!request.destroyed) request.end(bytes.subarray(half));
      return reply;
    },
  };
}

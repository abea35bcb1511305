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
}

/** POSTs `body` as JSON to `url` on a connection of its own, stopping halfway through the body. */
export async function holdRequest(url: string, headers: Record<string, string>, body: string): Promise<HeldRequest> {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const request = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { ...headers, 'content-type': 'application/json', 'content-length': String(bytes.length) },
  });
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
    finish() {
      if (!request.destroyed) request.end(bytes.subarray(half));
      return reply;
    },
  };
}

/**
 * The limit: a bare node:http handler answering BARE_PATH with the body the full app gave (BARE_BODY),
 * serialised per request as bench/bare.ts does, with no framework at all. What is left of a request
 * here is Node's HTTP parser and the socket: no server on this runtime answers faster.
 */
import { serveBaseline } from './child.js';

const path = process.env.BARE_PATH ?? '/';
const body: unknown = JSON.parse(process.env.BARE_BODY ?? 'null');

await serveBaseline((req, res) => {
  if (req.method !== 'GET' || req.url?.split('?')[0] !== path) {
    res.writeHead(404).end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
});

/**
 * The interactive reference at /api/docs (Scalar), served wholly from the API's own origin.
 *
 * - The script is the browser bundle of the installed, exactly pinned @scalar/api-reference, read
 *   once per process and kept in memory: no CDN, so nothing unpinned runs on this origin.
 * - The page has no inline script (Scalar reads its configuration from data attributes), so its
 *   CSP allows scripts from 'self' only and names no other origin. Styles may be inline: the
 *   bundle injects its CSS at run time.
 * - Scalar's default fonts come from its own host, so they are off: the page renders offline.
 * - Each answer spends the global budget, like every answer no procedure gives.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';

const SCRIPT_PATH = '/docs/scalar.js';

const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Off: the default fonts (Scalar's font host), the AI agent (on for localhost pages, it calls
 * Scalar's API through its proxy) and the developer tools (share and deploy to Scalar's registry).
 */
const CONFIGURATION = {
  url: '/api/openapi.json',
  withDefaultFonts: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
};

interface Bundle {
  source: Buffer;
  gzipped: Promise<Buffer>;
  /** Changes with the bundle, so that the page can let browsers keep the script for a year. */
  version: string;
}

let bundle: Bundle | undefined;

function scalarBundle(): Bundle {
  if (bundle) return bundle;
  const source = readFileSync(createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js'));
  const version = createHash('sha256').update(source).digest('base64url').slice(0, 16);
  bundle = { source, gzipped: promisify(gzip)(source), version };
  return bundle;
}

const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function page(version: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>API reference</title>
  </head>
  <body>
    <script id="api-reference" data-configuration="${attribute(JSON.stringify(CONFIGURATION))}"></script>
    <script src="/api${SCRIPT_PATH}?v=${version}"></script>
  </body>
</html>
`;
}

/** Whether a request's Accept-Encoding takes gzip (by name or `*`, with a weight above zero). */
function acceptsGzip(req: IncomingMessage): boolean {
  const accepted = req.headers['accept-encoding'] ?? '';
  return accepted.split(',').some((entry) => {
    const [coding = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const weight = params.find((param) => param.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (weight === undefined || Number(weight.slice(2)) > 0);
  });
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The page and its script, keyed by their path under /api; the adapter spends the global budget first. */
export function docsRoutes(): Map<string, Handler> {
  let html: string | undefined;

  async function servePage(_req: IncomingMessage, res: ServerResponse) {
    html ??= page(scalarBundle().version);
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(html);
  }

  async function serveScript(req: IncomingMessage, res: ServerResponse) {
    const { source, gzipped } = scalarBundle();
    const body = acceptsGzip(req) ? await gzipped : source;
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Vary', [res.getHeader('Vary'), 'Accept-Encoding'].filter(Boolean).join(', '));
    if (body !== source) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }

  return new Map([
    ['/docs', servePage],
    [SCRIPT_PATH, serveScript],
  ]);
}

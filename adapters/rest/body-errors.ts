/**
 * Reading JSON request bodies, for the REST and tRPC adapters alike, and their errors as API errors
 * (the OAuth endpoints read their JSON with the same depth check, `refuseDeepJson`).
 *
 * - A body is at most 10 MiB (400 PAYLOAD_TOO_LARGE) and UTF-8 (415 otherwise, RFC 8259 section 8.1).
 * - JSON nests at most 64 levels: a deeper body is 400 BAD_REQUEST, refused by a scan of the raw
 *   bytes before it is parsed, so that nothing downstream (zod, JSON.stringify, the database) ever
 *   walks a structure deep enough to exhaust the stack.
 * - Malformed JSON is 400 BAD_REQUEST.
 * - A raw body (a route with `meta.rawBody`, whose signature covers the exact bytes) is read as it
 *   came, 1 MiB at most, and handed over as text only when it is valid UTF-8 (415 otherwise), so that
 *   the text is the bytes received.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { ApiError } from '../../server/errors.js';

declare module 'http' {
  interface IncomingMessage {
    /** The body as the readers below left it: parsed JSON (REST) or JSON text (tRPC). */
    body?: unknown;
  }
}

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const MAX_JSON_DEPTH = 64;

const TOO_DEEP = 'entity.too.deep';

/** Whether JSON text opens more than `max` arrays or objects inside one another; string contents do not count. */
export function nestsDeeperThan(json: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash: the escaped character cannot end the string
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return false;
}

/** body-parser's `verify` hook: sees the raw bytes after the size limit and before JSON.parse. */
export function refuseDeepJson(_req: unknown, _res: unknown, body: Buffer, encoding: string | null): void {
  // Other charsets would hide brackets from a byte scan; JSON between systems is UTF-8 anyway.
  if (encoding !== null && !/^utf-?8$/.test(encoding))
    throw Object.assign(new Error(`unsupported charset "${encoding}"`), { type: 'charset.unsupported' });
  if (nestsDeeperThan(body, MAX_JSON_DEPTH))
    throw Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { type: TOO_DEEP });
}

/** REST: any body (the adapter checks the media type first), parsed into `req.body`. */
export const readJsonBody = express.json({
  limit: MAX_BODY_BYTES,
  strict: true,
  type: () => true,
  verify: refuseDeepJson,
});

export const MAX_RAW_BODY_BYTES = 1024 * 1024;

const readRawBytes = express.raw({ limit: MAX_RAW_BODY_BYTES, type: () => true });
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** REST, `meta.rawBody`: the body exactly as received, as text; body-parser's errors are left for `bodyError`. */
export async function readRawBody(req: IncomingMessage, res: ServerResponse): Promise<string> {
  await new Promise<void>((resolve, reject) =>
    readRawBytes(req as never, res as never, (error?: unknown) => (error ? reject(error) : resolve())),
  );
  try {
    return utf8.decode(Buffer.isBuffer(req.body) ? req.body : new Uint8Array());
  } catch {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 text');
  }
}

/**
 * tRPC: JSON bodies only, kept as text in `req.body`, which tRPC's adapter then parses itself (an input
 * may be a bare string or number); other media types are left to tRPC's own rules.
 */
export const readJsonText = express.text({ limit: MAX_BODY_BYTES, type: 'application/json', verify: refuseDeepJson });

const tooDeep = () => new ApiError('BAD_REQUEST', `The request nests JSON deeper than ${MAX_JSON_DEPTH} levels`);

/** JSON that arrives outside a body (tRPC's `?input=`), held to the same depth. */
export function deepJsonError(json: string): ApiError | undefined {
  return nestsDeeperThan(Buffer.from(json), MAX_JSON_DEPTH) ? tooDeep() : undefined;
}

/** body-parser's errors, by their `type`. */
export function bodyError(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new ApiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${sizeOf(error)}`);
    case 'entity.parse.failed':
      return new ApiError('BAD_REQUEST', 'The request body is not valid JSON');
    case TOO_DEEP:
      return tooDeep();
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError('BAD_REQUEST', 'The request body could not be read');
    default:
      return undefined;
  }
}

/** The limit a too-large body passed, in MiB as the readers above set it. */
function sizeOf(error: unknown): string {
  const limit = (error as { limit?: unknown }).limit;
  return typeof limit === 'number' ? `${limit / (1024 * 1024)} MiB` : '10 MiB';
}

/**
 * The REST envelope (API.md section 2): `{success, status, code, message, data, meta}` on every
 * response. A list procedure returns `{items, total, offset, limit, hasMore}`; here `items` becomes
 * `data` and the rest `meta`.
 */
import type { ServerResponse } from 'node:http';
import type { ApiError } from '../../server/errors.js';

export interface Envelope {
  success: boolean;
  status: number;
  code: string;
  message: string;
  data: unknown;
  meta: Record<string, unknown>;
}

export interface ListPage {
  items: unknown[];
  total: number;
  offset: number;
  limit: number;
  hasMore: boolean;
}

export function isListPage(output: unknown): output is ListPage {
  return (
    typeof output === 'object' &&
    output !== null &&
    Array.isArray((output as ListPage).items) &&
    typeof (output as ListPage).hasMore === 'boolean' &&
    typeof (output as ListPage).total === 'number'
  );
}

export function successEnvelope(status: number, message: string, output: unknown): Envelope {
  if (isListPage(output)) {
    const { items, ...meta } = output;
    return { success: true, status, code: 'OK', message, data: items, meta };
  }
  return { success: true, status, code: 'OK', message, data: output ?? null, meta: {} };
}

export function errorEnvelope(status: number, code: string, message: string, meta: Record<string, unknown>): Envelope {
  return { success: false, status, code, message, data: null, meta };
}

/** Headers that go with an error: Retry-After on 429 and 503. */
export function setErrorHeaders(res: ServerResponse, status: number, meta: Record<string, unknown>): void {
  if ((status === 429 || status === 503) && typeof meta.retryAfter === 'number') {
    res.setHeader('Retry-After', String(meta.retryAfter));
  }
}

export function sendEnvelope(res: ServerResponse, envelope: Envelope): void {
  res.statusCode = envelope.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(envelope));
}

export function sendApiError(res: ServerResponse, error: ApiError, requestId: string): void {
  const meta = { ...error.meta, requestId };
  setErrorHeaders(res, error.status, meta);
  sendEnvelope(res, errorEnvelope(error.status, error.apiCode, error.message, meta));
}

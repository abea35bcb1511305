/**
 * An error passed to next() in the Express part of the service (the OpenID provider's endpoints and
 * pages, the mail-link pages) reaches one final handler (server/app.ts) and is answered through
 * toApiError: in the protocol's own form under /api/auth/oauth2 and /.well-known, in the envelope
 * elsewhere; never Express's default HTML page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerExpressError } from '../../server/app.js';
import { ApiError } from '../../server/errors.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { captureLog, type CapturedLog } from '../support/logs.js';

let captured: CapturedLog;
let t: TestApp;
beforeAll(async () => {
  captured = captureLog('info');
  t = await startTestApp({ log: captured.log });
});
afterAll(async () => {
  await t?.close();
});

const EXPRESS_PAGE =
  /<pre>|<!DOCTYPE html>\s*<html lang="en">\s*<head>\s*<meta charset="utf-8">\s*<title>Error<\/title>/;

describe('the OpenID provider', () => {
  it('answers an endpoint that fails unexpectedly with server_error, and logs it', async () => {
    const verifier = t.services.accessTokens!;
    const verify = verifier.verify;
    verifier.verify = () => Promise.reject(new Error('the verifier broke'));
    try {
      const requestId = `express-errors-${Math.random().toString(36).slice(2)}`;
      const res = await fetch(`${t.url}/api/auth/oauth2/userinfo`, {
        headers: { authorization: 'Bearer abc', 'x-request-id': requestId },
      });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body).toEqual({ error: 'server_error', error_description: expect.any(String) });
      expect(body.error_description).not.toContain('the verifier broke');
      await expect
        .poll(() => captured.lines().find((line) => line.reqId === requestId && line.msg === 'unhandled error'))
        .toMatchObject({ err: { message: 'the verifier broke' } });
    } finally {
      verifier.verify = verify;
    }
  });

  it.each([
    ['a form over its size limit', 'POST', '/api/auth/oauth2/interaction/some-uid/login'],
    ['a malformed percent-encoding in the interaction id', 'GET', '/api/auth/oauth2/interaction/%E0%A4%A'],
  ])('answers %s on its pages with an error page, 400', async (_what, method, path) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      ...(method === 'POST'
        ? {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `email=${'a'.repeat(20 * 1024)}`,
          }
        : {}),
    });
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('invalid_request');
    expect(html).not.toMatch(EXPRESS_PAGE);
  });
});

describe('elsewhere in the Express part', () => {
  it('answers in the envelope, with the request id', async () => {
    const app = express();
    app.use((req, _res, next) => {
      req.id = 'the-request';
      next();
    });
    app.get('/conflict', () => {
      throw new ApiError('CONFLICT', 'Taken');
    });
    app.get('/bug', async () => {
      throw new Error('a bug');
    });
    app.use(answerExpressError(t.services.log));
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const conflict = await fetch(`${base}/conflict`);
      expect(conflict.status).toBe(409);
      expect(await conflict.json()).toEqual({
        success: false,
        status: 409,
        code: 'CONFLICT',
        message: 'Taken',
        data: null,
        meta: { requestId: 'the-request' },
      });
      const bug = await fetch(`${base}/bug`);
      expect(bug.status).toBe(500);
      expect(await bug.json()).toMatchObject({
        success: false,
        code: 'INTERNAL_ERROR',
        meta: { requestId: 'the-request' },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

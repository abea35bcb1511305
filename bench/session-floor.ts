/**
 * The session floor: Express 5 with one handler that does what GET /api/user/me needs at the least
 * (server/auth/credentials.ts and credential-cache.ts): the session token read from the cookie, its
 * SHA-256 as the key, one Redis GET of the cached session's JSON, and that JSON parsed and answered.
 *
 * At start it stores under a key of its own (a random prefix, an hour's expiry, deleted at stop) the
 * body the full app answered (BARE_BODY) for the token of FLOOR_COOKIE (`name=token`, the cookie the
 * benchmark sends), so that it answers the same JSON. REDIS_URL as the benchmark got it.
 */
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import { Redis } from 'ioredis';
import { serveBaseline } from './child.js';

const sentCookie = process.env.FLOOR_COOKIE ?? '';
const cookieName = sentCookie.slice(0, sentCookie.indexOf('='));
const prefix = `bench-floor:${randomBytes(6).toString('hex')}:cred:`;
const keyOf = (value: string) => `${prefix}${createHash('sha256').update(value).digest('hex')}`;

const redis = new Redis(process.env.REDIS_URL ?? '', { lazyConnect: true });
await redis.connect();
const seeded = keyOf(readCookie(sentCookie) ?? '');
await redis.set(seeded, process.env.BARE_BODY ?? 'null', 'EX', 3600);

/** The value of the cookie `cookieName` in a Cookie header, parsed as the app parses it. */
function readCookie(header: string | undefined): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const app = express();
app.get(process.env.BARE_PATH ?? '/', async (req, res) => {
  const value = readCookie(req.headers.cookie);
  const cached = value === undefined ? null : await redis.get(keyOf(value));
  if (cached === null) {
    res.status(401).json({ success: false });
    return;
  }
  res.json(JSON.parse(cached));
});
await serveBaseline(app, async () => {
  await redis.del(seeded);
  await redis.quit();
});

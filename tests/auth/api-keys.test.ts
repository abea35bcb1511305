/** Personal access tokens under /api/auth/api-key/*, over REST (and create through createCaller). */
import { createHash } from 'node:crypto';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeySchema } from '../../entities/api-key.js';
import type { AppRouter } from '../../procedures/index.js';
import { USER_SCOPES, type Scope } from '../../server/scopes.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, postJson, signUp, type SignedUp } from '../support/identity.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const clock = { at: Date.now(), now: () => new Date(clock.at) };
const tick = (seconds: number) => {
  clock.at += seconds * 1000;
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ now: clock.now, env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
});
afterAll(async () => {
  await t?.close();
});

const ALL_KEY_SCOPES: Scope[] = ['user:read', 'api-keys:read', 'api-keys:write', 'api-keys:delete'];
const withKey = (key: string) => ({ 'x-api-key': key });
const me = (key: string) => t.request('/api/user/me', { headers: withKey(key) });
const keyRow = (id: string) => t.services.orm.em.fork().findOneOrFail(ApiKeySchema, { id });

/** Creates a key with the user's session; returns the create answer's data. */
async function createKey(user: SignedUp, body: Record<string, unknown> = {}) {
  const res = await postJson(
    t,
    '/api/auth/api-key/create',
    { name: 'CI', scopes: ALL_KEY_SCOPES, password: user.password, ...body },
    user.cookie,
  );
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { key: string; id: string; scopes: string[]; organizationId: string | null };
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition not reached');
}

describe('the lifecycle of a key', () => {
  it('creates, uses, lists, narrows, rotates and deletes a key', async () => {
    const user = await signUp(t);
    const created = await postJson(
      t,
      '/api/auth/api-key/create',
      {
        name: '  deploy bot ',
        scopes: [...ALL_KEY_SCOPES, 'user:read'],
        metadata: { env: 'ci' },
        password: user.password,
      },
      user.cookie,
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ success: true, code: 'OK', message: 'API key created' });
    const { key, id, start } = created.body.data;
    expect(key).toMatch(/^ba_[A-Za-z0-9_-]{43}$/);
    expect(start).toBe(key.slice(0, 8));
    expect(created.body.data).toMatchObject({
      name: 'deploy bot',
      scopes: ALL_KEY_SCOPES,
      organizationId: null,
      expiresAt: null,
      metadata: { env: 'ci' },
    });

    expect((await me(key)).status).toBe(200);

    const list = await t.request('/api/auth/api-key/list', { headers: withKey(key) });
    expect(list.status).toBe(200);
    expect(list.body.message).toBe('Items fetched successfully');
    expect(list.body.meta).toMatchObject({ total: 1, offset: 0, limit: 20, hasMore: false });
    expect(list.body.data).toEqual([expect.objectContaining({ id, name: 'deploy bot', start })]);
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(JSON.stringify(list.body)).not.toMatch(/[0-9a-f]{64}|hash/i);

    const got = await t.request(`/api/auth/api-key/get?id=${id}`, { headers: withKey(key) });
    expect(got.body).toMatchObject({ message: 'API key fetched successfully', data: { id, start } });
    expect(JSON.stringify(got.body)).not.toContain(key);

    const narrowed = await postJson(
      t,
      '/api/auth/api-key/update',
      { id, scopes: ['api-keys:read', 'api-keys:write', 'api-keys:delete'] },
      undefined,
      withKey(key),
    );
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.message).toBe('API key updated successfully');
    const refused = await me(key);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('API_KEY_MISSING_SCOPES');
    expect(refused.body.meta.requiredScopes).toEqual(['user:read']);

    const rotated = await postJson(t, '/api/auth/api-key/rotate', { id }, user.cookie);
    expect(rotated.status).toBe(200);
    expect(rotated.body.message).toBe('API key rotated');
    const second = rotated.body.data.key as string;
    expect(rotated.body.data).toMatchObject({ id, start: second.slice(0, 8) });
    expect(second).not.toBe(key);
    expect((await t.request('/api/auth/api-key/list', { headers: withKey(key) })).body.code).toBe('INVALID_API_KEY');
    expect((await t.request('/api/auth/api-key/list', { headers: withKey(second) })).status).toBe(200);

    const graced = await postJson(t, '/api/auth/api-key/rotate', { id, gracePeriod: 60 }, undefined, withKey(second));
    const third = graced.body.data.key as string;
    expect((await t.request('/api/auth/api-key/list', { headers: withKey(second) })).status).toBe(200);
    expect((await t.request('/api/auth/api-key/list', { headers: withKey(third) })).status).toBe(200);
    tick(61);
    const expired = await t.request('/api/auth/api-key/list', { headers: withKey(second) });
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('INVALID_API_KEY');

    const deleted = await postJson(t, '/api/auth/api-key/delete', { id }, user.cookie);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ message: 'API key deleted successfully', data: { id } });
    const gone = await t.request('/api/auth/api-key/list', { headers: withKey(third) });
    expect(gone.status).toBe(401);
    expect(gone.body.code).toBe('INVALID_API_KEY');
    expect((await t.request('/api/auth/api-key/list', { headers: asBrowser(user.cookie) })).body.data).toEqual([]);
  });

  it('stores only the SHA-256 of the key', async () => {
    const user = await signUp(t);
    const { key, id } = await createKey(user);
    const row = await keyRow(id);
    expect(row.keyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(Object.values(row)).not.toContain(key);
    expect(JSON.stringify(row)).not.toContain(key);
  });

  it('records lastUsedAt at most once a minute', async () => {
    const user = await signUp(t);
    const { key, id } = await createKey(user);
    expect((await keyRow(id)).lastUsedAt).toBeNull();
    await me(key);
    const first = (
      await waitFor(
        () => keyRow(id),
        (row) => row.lastUsedAt !== null,
      )
    ).lastUsedAt!;
    expect(first.getTime()).toBe(clock.at);
    tick(30);
    await me(key);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await keyRow(id)).lastUsedAt!.getTime()).toBe(first.getTime());
    tick(31);
    await me(key);
    const later = await waitFor(
      () => keyRow(id),
      (row) => row.lastUsedAt!.getTime() !== first.getTime(),
    );
    expect(later.lastUsedAt!.getTime()).toBe(clock.at);
  });

  it('creates a key through createCaller', async () => {
    const user = await signUp(t);
    const principal = {
      kind: 'session' as const,
      userId: user.userId,
      email: user.email,
      emailVerified: true,
      scopes: new Set<Scope>(),
    };
    const created = await callerFor(t.services, { principal }).auth.apiKey.create({
      name: 'direct',
      scopes: ['user:read', 'user:read'],
    });
    expect(created).toMatchObject({ name: 'direct', scopes: ['user:read'], organizationId: null });
    expect((await me(created.key)).status).toBe(200);
  });
});

describe('refusals', () => {
  it('answers 401 for empty, malformed, unknown and expired keys', async () => {
    const empty = await me('');
    expect(empty.status).toBe(401);
    expect(empty.body.code).toBe('NO_TOKEN_PROVIDED');
    for (const value of ['not-a-key', `ba_${'A'.repeat(43)}`]) {
      const res = await me(value);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INVALID_API_KEY');
    }
    const user = await signUp(t);
    const { key } = await createKey(user, { expiresIn: 60 });
    expect((await me(key)).status).toBe(200);
    tick(61);
    expect((await me(key)).body.code).toBe('INVALID_API_KEY');
  });

  it('validates the create body', async () => {
    const user = await signUp(t);
    const create = (body: Record<string, unknown>) =>
      postJson(t, '/api/auth/api-key/create', { name: 'x', scopes: ['user:read'], ...body }, user.cookie);
    const unknown = await create({ scopes: ['user:read', 'root:all'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('VALIDATION_ERROR');
    // The REST adapter (trpc-to-openapi) replaces every zod message with 'Input validation failed',
    // so over REST the allowed scopes are read from meta.errors; tRPC shows the message itself.
    const allowed = USER_SCOPES.join(', ');
    expect(unknown.body.meta.errors).toEqual([
      { field: 'scopes', error: expect.stringContaining(allowed), location: 'body' },
    ]);
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.url}/trpc`, headers: { cookie: user.cookie, origin: ORIGIN } })],
    });
    await expect(client.auth.apiKey.create.mutate({ name: 'x', scopes: ['root:all'] as never })).rejects.toThrow(
      allowed,
    );
    for (const body of [
      { scopes: [] },
      { expiresIn: 59 },
      { expiresIn: 365 * 86_400 + 1 },
      { name: '  ' },
      { extra: true },
      { metadata: { blob: 'x'.repeat(5000) } },
    ]) {
      const res = await create(body);
      expect(res.body.code, JSON.stringify(body).slice(0, 60)).toBe('VALIDATION_ERROR');
    }
  });

  it('pins only to an organization of the caller, and a pinned key only creates keys with its pin', async () => {
    const user = await signUp(t);
    const stranger = await signUp(t);
    const foreign = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'x', scopes: ['user:read'], organizationId: await defaultOrganizationId(t, stranger.userId) },
      user.cookie,
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ code: 'FORBIDDEN', message: 'You are not a member of this organization' });

    const own = await defaultOrganizationId(t, user.userId);
    const pinned = await createKey(user, { organizationId: own });
    expect(pinned.organizationId).toBe(own);
    const inherited = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'child', scopes: ['user:read'] },
      undefined,
      withKey(pinned.key),
    );
    expect(inherited.status).toBe(200);
    expect(inherited.body.data.organizationId).toBe(own);
    const other = await postJson(t, '/api/user/organizations', { name: 'Second' }, user.cookie);
    const elsewhere = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'x', scopes: ['user:read'], organizationId: other.body.data.id },
      undefined,
      withKey(pinned.key),
    );
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.code).toBe('FORBIDDEN');
  });

  it('lets a key grant only the scopes it has', async () => {
    const user = await signUp(t);
    const { key, id } = await createKey(user, { scopes: ['api-keys:write', 'user:read'] });
    const wider = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'x', scopes: ['user:read', 'projects:read'] },
      undefined,
      withKey(key),
    );
    expect(wider.status).toBe(403);
    expect(wider.body.code).toBe('API_KEY_MISSING_SCOPES');
    expect(wider.body.meta.requiredScopes).toEqual(['projects:read']);
    const widened = await postJson(
      t,
      '/api/auth/api-key/update',
      { id, scopes: ['user:read', 'projects:read'] },
      undefined,
      withKey(key),
    );
    expect(widened.body.code).toBe('API_KEY_MISSING_SCOPES');
    const narrower = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'x', scopes: ['user:read'] },
      undefined,
      withKey(key),
    );
    expect(narrower.status).toBe(200);
  });

  it('keeps session-only routes closed to keys', async () => {
    const user = await signUp(t);
    const { key } = await createKey(user);
    const res = await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: user.password, newPassword: 'another fine passphrase 7' },
      undefined,
      withKey(key),
    );
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });

  it('answers NO_SCOPES_AVAILABLE for a key left with no scopes', async () => {
    const user = await signUp(t);
    const { key, id } = await createKey(user);
    await t.services.orm.em.fork().nativeUpdate(ApiKeySchema, { id }, { scopes: [] });
    for (const res of [await me(key), await t.request('/api/auth/api-key/list', { headers: withKey(key) })]) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('NO_SCOPES_AVAILABLE');
    }
  });

  it('hides another user’s key: 404 on get, update, delete and rotate, and the key keeps working', async () => {
    const owner = await signUp(t);
    const intruder = await signUp(t);
    const { key, id } = await createKey(owner);
    const attempts = [
      t.request(`/api/auth/api-key/get?id=${id}`, { headers: asBrowser(intruder.cookie) }),
      postJson(t, '/api/auth/api-key/update', { id, name: 'mine now' }, intruder.cookie),
      postJson(t, '/api/auth/api-key/delete', { id }, intruder.cookie),
      postJson(t, '/api/auth/api-key/rotate', { id, gracePeriod: 0 }, intruder.cookie),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
    expect((await me(key)).status).toBe(200);
    const row = await keyRow(id);
    expect(row).toMatchObject({ name: 'CI', revokedAt: null, previousKeyHash: null });
  });
});

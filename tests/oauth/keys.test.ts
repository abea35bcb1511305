/** Signing-key rotation: new keys sign, old ones stay published, tokens they signed keep working. */
import { afterAll, describe, expect, it } from 'vitest';
import { rotateSigningKeys } from '../../adapters/oauth/keys.js';
import { SigningKeySchema } from '../../entities/oauth.js';
import { openDatabase } from '../../server/database.js';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import { signUp } from '../support/identity.js';
import { createBearerToken } from '../support/oauth.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;

describe('rotating the signing keys', () => {
  it('publishes old and new keys, signs with the new, and still accepts tokens signed with the old', async () => {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const env = { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' };
    const before: TestApp = await startTestApp({ env, databaseUrl: database.url });
    const user = await signUp(before);
    const organizationId = await defaultOrganizationId(before, user.userId);
    const old = await createBearerToken(before, { userId: user.userId });
    const oldKeys = (await before.request('/api/auth/oauth2/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    await before.close();

    // What `npm run keys:rotate` does, between two generations of instances.
    const orm = await openDatabase(database.url);
    expect(await rotateSigningKeys(orm.em.fork(), new Date())).toBe(2);
    await orm.close();
    const after = await startTestApp({ env, databaseUrl: database.url });
    cleanups.push(after.close);
    const published = (await after.request('/api/auth/oauth2/jwks')).body.keys.map((k: { kid: string }) => k.kid);
    expect(published).toHaveLength(4);
    expect(published).toEqual(expect.arrayContaining(oldKeys));

    const fresh = await createBearerToken(after, { userId: user.userId });
    expect(kidOf(fresh.token)).not.toBe(kidOf(old.token));
    expect(oldKeys).toContain(kidOf(old.token));
    for (const token of [old.token, fresh.token]) {
      const res = await after.request(`/api/user/organizations/${organizationId}/projects`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
    }
    const rows = await after.services.orm.em.fork().find(SigningKeySchema, {});
    expect(rows.filter((r) => r.retiredAt)).toHaveLength(2);
  });
});

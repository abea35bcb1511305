/** Personal access tokens written straight to the database, for tests that need one of a kind. */
import { ApiKeySchema } from '../../entities/api-key.js';
import { generateApiKey } from '../../server/auth/api-keys.js';
import { newId } from '../../server/ids.js';
import { USER_SCOPES, type Scope } from '../../server/scopes.js';
import type { TestApp } from './app.js';

export async function createApiKey(
  t: TestApp,
  options: { userId: string; scopes?: readonly Scope[]; organizationId?: string; expiresAt?: Date; revokedAt?: Date },
): Promise<string> {
  const { key, start, keyHash } = generateApiKey();
  const now = new Date();
  await t.services.orm.em.fork().insert(ApiKeySchema, {
    id: newId(),
    userId: options.userId,
    name: 'test key',
    start,
    keyHash,
    scopes: [...(options.scopes ?? USER_SCOPES)],
    organizationId: options.organizationId ?? null,
    expiresAt: options.expiresAt ?? null,
    lastUsedAt: null,
    metadata: {},
    createdAt: now,
    updatedAt: now,
    revokedAt: options.revokedAt ?? null,
    previousKeyHash: null,
    previousKeyExpiresAt: null,
  });
  return key;
}

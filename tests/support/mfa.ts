/** Second factors and MFA policies written straight to the database, with the cache entries they change dropped. */
import { randomBytes } from 'node:crypto';
import { PasskeySchema } from '../../entities/passkey.js';
import { OrganizationSchema } from '../../entities/organization.js';
import { TwoFactorSchema } from '../../entities/two-factor.js';
import { userCacheKeys } from '../../server/auth/sessions.js';
import { newId } from '../../server/ids.js';
import { organizationCacheKeys } from '../../server/tenancy.js';
import type { TestApp } from './app.js';

/**
 * Gives the user a second factor: a confirmed TOTP (`totp`), an enabled but unconfirmed one
 * (`unconfirmed-totp`, which does not count) or a passkey; then drops their cached memberships, as
 * the two-factor and passkey routes do.
 */
export async function addSecondFactor(
  t: TestApp,
  userId: string,
  kind: 'totp' | 'unconfirmed-totp' | 'passkey',
): Promise<void> {
  const em = t.services.orm.em.fork();
  const now = new Date();
  if (kind === 'passkey') {
    await em.insert(PasskeySchema, {
      id: newId(),
      userId,
      credentialId: randomBytes(32).toString('base64url'),
      publicKey: randomBytes(77).toString('base64url'),
      counter: '0',
      transports: ['internal'],
      deviceType: 'multiDevice',
      backedUp: true,
      aaguid: '00000000-0000-0000-0000-000000000000',
      name: 'Test passkey',
      createdAt: now,
      lastUsedAt: null,
    });
  } else {
    await em.insert(TwoFactorSchema, {
      userId,
      secret: 'not a real ciphertext',
      confirmedAt: kind === 'totp' ? now : null,
      lastUsedStep: null,
      createdAt: now,
      updatedAt: now,
    });
  }
  await t.services.credentialCache.forget(await userCacheKeys(em, userId));
}

/** Requires MFA in the organization since `since`, as PUT /mfa does, and drops its cached memberships. */
export async function requireMfa(
  t: TestApp,
  organizationId: string,
  options: { gracePeriodDays?: number; since?: Date } = {},
): Promise<void> {
  const em = t.services.orm.em.fork();
  await em.nativeUpdate(
    OrganizationSchema,
    { id: organizationId },
    {
      mfaRequired: true,
      mfaGracePeriodDays: options.gracePeriodDays ?? 0,
      mfaRequiredSince: options.since ?? new Date(),
    },
  );
  await t.services.credentialCache.forget(await organizationCacheKeys(em, organizationId));
}

/**
 * What every new account gets, however it is made (sign-up with a password, a magic link to a new
 * address): the user and a default organization they own, with its audit entry. A way to sign in (a
 * password) is the caller's to add; persisted by the caller's next flush, inside its transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { UserSchema, type User } from '../../entities/user.js';
import type { Context } from '../../server/context.js';
import { newId } from '../../server/ids.js';
import { createOwnedOrganization, uniqueSlug } from '../tenant/organization/organization.js';

export function createAccount(
  em: EntityManager,
  ctx: Pick<Context, 'ip' | 'userAgent'>,
  input: { email: string; fullName: string; verifiedAt: Date | null; now: Date },
): User {
  const { now } = input;
  const user = em.create(UserSchema, {
    id: newId(),
    email: input.email,
    fullName: input.fullName,
    isActive: true,
    verifiedAt: input.verifiedAt,
    lastLoginAt: null,
    emailPreferences: { marketingOptOut: false },
    role: 'user',
    createdAt: now,
    updatedAt: now,
  });
  em.persist(user);
  createOwnedOrganization(em, {
    name: `${input.fullName}'s organization`.slice(0, 100),
    slug: uniqueSlug(input.fullName),
    owner: { userId: user.id, kind: 'session' },
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    now,
  });
  return user;
}

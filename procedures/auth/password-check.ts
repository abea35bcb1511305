import type { EntityManager } from '@mikro-orm/postgresql';
import { AccountSchema, type Account } from '../../entities/user.js';
import { ApiError } from '../../server/errors.js';
import { verifyPasswordOrDummy } from '../../server/passwords.js';

/** The user's password account, once `password` is proven to be its password; INVALID_CREDENTIALS otherwise. */
export async function requirePassword(em: EntityManager, userId: string, password: string): Promise<Account> {
  const account = await em.findOne(AccountSchema, { userId, providerId: 'credential' });
  if (!(await verifyPasswordOrDummy(account?.passwordHash, password)) || !account) {
    throw new ApiError('INVALID_CREDENTIALS', 'The current password is wrong');
  }
  return account;
}

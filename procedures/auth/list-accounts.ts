import { AccountSchema } from '../../entities/user.js';
import { PageInput, pageOf, toPage } from '../../server/pagination.js';
import { sessionProcedure } from '../../server/trpc.js';
import { AccountSummary, accountSummary } from './accounts/account.js';

/** GET /api/auth/accounts: my ways to sign in (the password as `credential`, linked providers), oldest first. */
export const listAccounts = sessionProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/accounts',
      tags: ['social'],
      summary: 'My sign-in methods and linked accounts',
    },
    message: 'Items fetched successfully',
  })
  .input(PageInput)
  .output(pageOf(AccountSummary))
  .query(async ({ ctx, input }) => {
    const [accounts, total] = await ctx.em.findAndCount(
      AccountSchema,
      { userId: ctx.principal.userId },
      { orderBy: { createdAt: 'asc', id: 'asc' }, offset: input.offset, limit: input.limit },
    );
    return toPage(accounts.map(accountSummary), total, input);
  });

import { PasskeySchema } from '../../../entities/passkey.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { PasskeySummary, passkeySummary } from './passkey.js';

/** GET /api/auth/passkey/list: my passkeys, newest first. */
export const listPasskeys = sessionProcedure
  .meta({
    openapi: { method: 'GET', path: '/auth/passkey/list', tags: ['auth'], summary: 'My passkeys' },
    message: 'Items fetched successfully',
    rateLimit: ['passkey'],
  })
  .input(PageInput)
  .output(pageOf(PasskeySummary))
  .query(async ({ ctx, input }) => {
    const [passkeys, total] = await ctx.em.findAndCount(
      PasskeySchema,
      { userId: ctx.principal.userId },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    return toPage(passkeys.map(passkeySummary), total, input);
  });

import { z } from 'zod';
import { OAuthClientSchema } from '../../../entities/oauth.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { userProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { OAuthClientOutput, oauthClientOutput } from './oauth-client.js';

/** GET /api/user/oauth-clients: the clients I registered, newest first, without secrets. */
export const listOAuthClients = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/oauth-clients', tags: ['oauth-clients'], summary: 'My OAuth clients' },
    message: 'Items fetched successfully',
    sessionOnly: true,
  })
  .input(PageInput.extend({ q: z.string().max(100, 'Must be at most 100 characters').optional() }))
  .output(pageOf(OAuthClientOutput))
  .query(async ({ ctx, input }) => {
    const where = { userId: ctx.principal.userId, ...(input.q ? { name: { $ilike: likePattern(input.q) } } : {}) };
    const [clients, total] = await ctx.em.findAndCount(OAuthClientSchema, where, {
      orderBy: { createdAt: 'desc', id: 'desc' },
      offset: input.offset,
      limit: input.limit,
    });
    return toPage(clients.map(oauthClientOutput), total, input);
  });

import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { ssoDomainRule } from '../identify.js';
import { Email } from '../schemas.js';

/**
 * GET /api/auth/sso/discover?email=: the SSO connection that serves an address's domain, if an
 * organization verified it. Domains are public knowledge (the organization published a DNS record for
 * it), so the answer is the same for every address of a domain, with or without an account.
 */
export const discoverSso = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/sso/discover',
      tags: ['sso'],
      summary: 'Find the SSO connection for an email address',
      description:
        '`found: false` unless an organization verified the address’s domain for one of its SSO connections; ' +
        '`redirectUrl` starts that sign-in.',
    },
    message: 'SSO discovery',
  })
  .input(z.strictObject({ email: Email }))
  .output(z.object({ found: z.boolean(), providerId: z.string().nullable(), redirectUrl: z.string().nullable() }))
  .query(async ({ ctx, input }) => {
    const rule = await ssoDomainRule(ctx, input.email);
    return { found: rule !== null, providerId: rule?.providerId ?? null, redirectUrl: rule?.redirectUrl ?? null };
  });

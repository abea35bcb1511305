import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { SSO_START_DESCRIPTION, SSO_START_META, StartSsoInput, startSsoSignIn } from './sign-in.js';

/**
 * GET /api/auth/sso/sign-in?providerId=|email=&callbackURL=: the same start as the POST, as a link
 * (POST /auth/identify and GET /auth/sso/discover hand it out as `redirectUrl`).
 */
export const startSsoSignInLink = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/sso/sign-in',
      tags: ['sso'],
      summary: 'Start an SSO sign-in from a link',
      description: SSO_START_DESCRIPTION,
    },
    ...SSO_START_META,
  })
  .input(StartSsoInput)
  .output(z.object({ location: z.string() }))
  .query(({ ctx, input }) => startSsoSignIn(ctx, input));

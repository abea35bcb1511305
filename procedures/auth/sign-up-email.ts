import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { AccountSchema, UserSchema } from '../../entities/user.js';
import { ApiError } from '../../server/errors.js';
import { newId } from '../../server/ids.js';
import { hashPassword, NewPassword } from '../../server/passwords.js';
import { authProcedure } from '../../server/trpc.js';
import { verifyEmailMail } from './emails.js';
import { createAccount } from './new-account.js';
import { Email, iso, SignedIn, userSummary } from './schemas.js';
import { startSession } from './start-session.js';
import { issueVerification } from './verifications.js';

export const SignUpInput = z.strictObject({
  email: Email,
  password: NewPassword,
  name: z.string().trim().min(1, 'Required').max(200, 'Must be at most 200 characters'),
});

const emailTaken = () => new ApiError('CONFLICT', 'An account with this email already exists');

/**
 * POST /api/auth/sign-up/email: the user, their password, a default organization they own, a
 * session and a verification token, all in one transaction; the verification email follows it.
 */
export const signUpEmail = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/sign-up/email',
      tags: ['auth'],
      summary: 'Create an account with email and password',
    },
    message: 'Account created successfully',
    status: 201,
    rateLimit: ['signUp'],
  })
  .input(SignUpInput)
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    if (await ctx.em.count(UserSchema, { email: input.email })) throw emailTaken();
    const passwordHash = await hashPassword(input.password);
    try {
      const { user, session, token } = await ctx.em.transactional(async (em) => {
        const user = createAccount(em, ctx, { email: input.email, fullName: input.name, verifiedAt: null, now });
        em.persist(
          em.create(AccountSchema, {
            id: newId(),
            userId: user.id,
            providerId: 'credential',
            passwordHash,
            createdAt: now,
            updatedAt: now,
          }),
        );
        await em.flush();
        const token = await issueVerification(em, { userId: user.id, purpose: 'verify-email', email: user.email, now });
        const session = await startSession(em, ctx, user.id, now, ['pwd']);
        return { user, session, token };
      });
      ctx.services.mailer.sendInBackground(verifyEmailMail(ctx.services.config.appUrl, user.email, token));
      return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw emailTaken();
      throw error;
    }
  });

/**
 * Step-up for security actions (disable two-factor, new backup codes, delete a passkey, change the
 * email, delete the account, create an API key with write scopes): whoever holds a stolen session
 * cookie must not be able to lock the owner out or mint lasting access with it.
 *
 * - An account with a password confirms with it (`password` in the input): missing is 403
 *   REAUTHENTICATION_REQUIRED, wrong is 401 INVALID_CREDENTIALS.
 * - An account without one (passkey, magic link, SSO) needs a sign-in within the last 10 minutes:
 *   the session's `strongAuthAt`; older is REAUTHENTICATION_REQUIRED, and signing in again renews it.
 * - Tokens (API keys, OAuth) are not sessions: they reach these actions only where a route accepts
 *   tokens at all (creating an API key), and then cannot exceed their own scopes; step-up is for sessions.
 */
import { z } from 'zod';
import { AccountSchema } from '../../entities/user.js';
import type { Context, Principal } from '../../server/context.js';
import { ApiError } from '../../server/errors.js';
import { GivenPassword } from '../../server/passwords.js';
import { requirePassword } from '../auth/password-check.js';

export const STEP_UP_WINDOW_MS = 10 * 60 * 1000;

/** The input field that carries the confirmation: optional in the schema, required by the check when the account has a password. */
export const StepUpPassword = GivenPassword.optional().describe(
  'Your current password; required when the account has one (accounts without one need a sign-in within the last 10 minutes)',
);

export const StepUpInput = z.object({ password: StepUpPassword });

export async function requireStepUp(
  ctx: Pick<Context, 'em' | 'services'>,
  principal: Principal,
  password: string | undefined,
): Promise<void> {
  if (principal.kind !== 'session') return;
  const hasPassword = (await ctx.em.count(AccountSchema, { userId: principal.userId, providerId: 'credential' })) > 0;
  if (hasPassword) {
    if (password === undefined) {
      throw new ApiError('REAUTHENTICATION_REQUIRED', 'Confirm this action with your current password (password)', {
        accepts: ['password'],
      });
    }
    await requirePassword(ctx.em, principal.userId, password);
    return;
  }
  const strongAt = principal.strongAuthAt?.getTime() ?? 0;
  if (ctx.services.now().getTime() - strongAt > STEP_UP_WINDOW_MS) {
    throw new ApiError(
      'REAUTHENTICATION_REQUIRED',
      'Sign in again (passkey, emailed link or single sign-on), then do this within 10 minutes',
      { maxAgeSeconds: STEP_UP_WINDOW_MS / 1000 },
    );
  }
}

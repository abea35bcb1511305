/**
 * The step between the first factor and the second, for users with two-factor on.
 *
 * - A proven first factor (password, magic link) of such a user starts no session: it answers
 *   `{twoFactorRequired: true}` and sets a challenge cookie (HttpOnly, 5 minutes, path /api/auth)
 *   holding 32 random bytes; the database keeps their SHA-256, the user and the factors proven so far.
 * - Each try at the second step spends one of the challenge's 5 attempts by one conditional UPDATE
 *   before any code is checked, so concurrent guesses cannot exceed 5; then the challenge is dead.
 * - The challenge ends in a session once: marking it used is conditional too, and the cookie is cleared.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SignInChallengeSchema, TwoFactorSchema } from '../../../entities/two-factor.js';
import type { AuthMethod } from '../../../entities/session.js';
import type { Config } from '../../../server/config.js';
import type { Context } from '../../../server/context.js';
import { randomToken, sha256Hex, TOKEN_PATTERN } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { hostCookieName, readCookie, type NewSession } from '../../../server/auth/sessions.js';
import { recordLogin, startSession } from '../start-session.js';

export const CHALLENGE_TTL_MS = 5 * 60 * 1000;
export const CHALLENGE_MAX_ATTEMPTS = 5;

const challengeCookieName = (config: Pick<Config, 'baseUrl'>) => hostCookieName(config, 'two_factor_challenge');

function challengeCookie(config: Pick<Config, 'baseUrl'>, value: string, maxAgeSeconds: number): string {
  return `${challengeCookieName(config)}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Lax`;
}

/** Whether the user has a confirmed TOTP authenticator (two-factor is on). */
export async function hasTwoFactor(em: EntityManager, userId: string): Promise<boolean> {
  return (await em.count(TwoFactorSchema, { userId, confirmedAt: { $ne: null } })) > 0;
}

export type FirstFactorResult = { session: NewSession; twoFactorRequired?: undefined } | { twoFactorRequired: true };

/**
 * After a first factor is proven: a session for a user without two-factor, else a challenge. Runs its
 * writes in one transaction.
 */
export async function finishFirstFactor(
  ctx: Context,
  userId: string,
  method: AuthMethod,
  federated?: { provider: string },
): Promise<FirstFactorResult> {
  const now = ctx.services.now();
  return ctx.em.transactional(async (em): Promise<FirstFactorResult> => {
    if (!(await hasTwoFactor(em, userId))) {
      return { session: await startSession(em, ctx, userId, now, [method], federated) };
    }
    const token = randomToken();
    em.persist(
      em.create(SignInChallengeSchema, {
        id: newId(),
        userId,
        tokenHash: sha256Hex(token),
        methods: [method],
        attempts: 0,
        expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
        usedAt: null,
        createdAt: now,
        provider: federated?.provider ?? null,
      }),
    );
    recordLogin(em, ctx, {
      userId,
      method,
      outcome: 'challenged',
      reason: 'second-factor-required',
      provider: federated?.provider,
      now,
    });
    await em.flush();
    ctx.setCookie(challengeCookie(ctx.services.config, token, CHALLENGE_TTL_MS / 1000));
    return { twoFactorRequired: true };
  });
}

export interface ChallengeAttempt {
  id: string;
  userId: string;
  methods: AuthMethod[];
  /** Tries left after this one. */
  remaining: number;
  /** The social provider of the first factor, if it was one. */
  provider: string | null;
}

function deadChallenge(): ApiError {
  return new ApiError(
    'INVALID_OR_EXPIRED_TOKEN',
    'The sign-in challenge is missing, expired, used or out of tries; sign in again',
  );
}

/**
 * Spends one try of the request's challenge (from its cookie, or the token given) before any code is
 * checked; INVALID_OR_EXPIRED_TOKEN when there is no live challenge with tries left.
 */
export async function takeChallengeAttempt(ctx: Context, token?: string): Promise<ChallengeAttempt> {
  const value = token ?? readCookie(ctx.cookieHeader, challengeCookieName(ctx.services.config));
  if (!value || !TOKEN_PATTERN.test(value)) throw deadChallenge();
  const now = ctx.services.now();
  const rows = await ctx.em
    .getConnection()
    .execute<{ id: string; user_id: string; methods: AuthMethod[]; attempts: number; provider: string | null }[]>(
      `update sign_in_challenges set attempts = attempts + 1
        where token_hash = ? and used_at is null and expires_at > ? and attempts < ?
        returning id, user_id, methods, attempts, provider`,
      [sha256Hex(value), now, CHALLENGE_MAX_ATTEMPTS],
    );
  const row = rows[0];
  if (!row) throw deadChallenge();
  return {
    id: row.id,
    userId: row.user_id,
    methods: row.methods,
    remaining: CHALLENGE_MAX_ATTEMPTS - row.attempts,
    provider: row.provider,
  };
}

/**
 * Ends a challenge whose second factor was just proven, in the caller's transaction: marks it used
 * (once), starts the session with every factor proven, and clears the challenge cookie.
 */
export async function completeChallenge(
  em: EntityManager,
  ctx: Context,
  challenge: ChallengeAttempt,
  method: AuthMethod,
): Promise<NewSession> {
  const now = ctx.services.now();
  const used = await em.nativeUpdate(SignInChallengeSchema, { id: challenge.id, usedAt: null }, { usedAt: now });
  if (used !== 1) throw deadChallenge();
  const federated = challenge.provider ? { provider: challenge.provider } : undefined;
  const session = await startSession(em, ctx, challenge.userId, now, [...challenge.methods, method], federated);
  ctx.setCookie(challengeCookie(ctx.services.config, '', 0));
  return session;
}

/**
 * How a federated sign-in ends, for every provider (social OpenID Connect and GitHub, enterprise SSO
 * over OpenID Connect and SAML): one function decides which account signs in, and one records failures.
 *
 * Which account (never a silent merge):
 * 1. the account already linked to the provider's subject (`accounts.provider_id` + `account_id`);
 * 2. else the user whose email is the asserted one, linked now only when the provider vouches for the
 *    address (a social provider's `email_verified`; for SSO, the organization's verified domain) and the
 *    user verified it too: otherwise ACCOUNT_NOT_LINKED, since linking would hand the account to
 *    whoever registered the address first (account pre-hijacking) or to a provider that checked nothing;
 * 3. else a new user (verified address, default organization, no password), only on a vouched address:
 *    EMAIL_NOT_VERIFIED otherwise.
 * All of it (user, link, just-in-time membership with the connection's role and its audit entry, the
 * session or the two-factor challenge) is one transaction: it commits whole or leaves nothing. A join
 * beyond the plan's seats refuses the sign-in (PLAN_LIMIT_REACHED), recorded like the failures below.
 *
 * A social sign-in of a user with two-factor on leads to the second step (procedures/auth/two-factor/);
 * an SSO sign-in does not: the organization's identity provider is the authority on its members' factors.
 *
 * Failures: every refusal on the way (state, the provider's answer, domain, linking) is written to the
 * login history with its reason, provider and asserted address, outside the failed transaction, and
 * rethrown: a clear 4xx, nothing else created.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { MemberSchema, type Member } from '../../../entities/organization.js';
import { AccountSchema, UserSchema } from '../../../entities/user.js';
import type { Context } from '../../../server/context.js';
import { ApiError, type ErrorCode } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { audit } from '../../../server/tenancy.js';
import { assertSeatAvailable } from '../../shared/entitlements.js';
import { redirectLocation } from '../callback-url.js';
import { createAccount } from '../new-account.js';
import { recordLogin, startSession } from '../start-session.js';
import { finishFirstFactor } from '../two-factor/challenge.js';

/** Who the provider says signed in, after its answer was verified. */
export interface FederatedIdentity {
  method: 'social' | 'sso';
  /** `accounts.provider_id`: the social provider's id, or `sso:<connection id>`. */
  provider: string;
  /** The provider's stable id for the user (`sub`, GitHub's numeric id, SAML NameID). */
  subject: string;
  /** Lower-cased. */
  email: string;
  /** Whether the provider vouches for the address (SSO: the connection's domain is verified). */
  emailVerified: boolean;
  name: string | null;
  /** SSO: the organization joined just in time, with the connection's role. */
  connection?: { id: string; organizationId: string; defaultRole: Exclude<Member['role'], 'owner'> };
}

/** Codes a federated flow refuses with; each is recorded in the login history. */
const FEDERATION_CODES = new Set<ErrorCode>([
  'INVALID_FEDERATION_STATE',
  'FEDERATION_FAILED',
  'DOMAIN_NOT_VERIFIED',
  'EMAIL_NOT_VERIFIED',
  'ACCOUNT_NOT_LINKED',
  'USER_NOT_ACTIVE',
  'NOT_FOUND',
  'BAD_REQUEST',
  'PLAN_LIMIT_REACHED',
]);

/** A federated refusal: `reason` is recorded and shown in `meta.reason`. */
/** What an SSO connection's callback can answer besides success, for its OpenAPI operation. */
export const SSO_CALLBACK_ERRORS: ErrorCode[] = [
  'NOT_FOUND',
  'INVALID_FEDERATION_STATE',
  'FEDERATION_FAILED',
  'DOMAIN_NOT_VERIFIED',
  'ACCOUNT_NOT_LINKED',
  'PLAN_LIMIT_REACHED',
];

export function federationError(code: ErrorCode, reason: string, message: string): ApiError {
  return new ApiError(code, message, { reason });
}

/** What a flow learned before it failed, for the login history row. */
export interface FederatedAttempt {
  method: 'social' | 'sso';
  provider: string;
  email: string | null;
  userId: string | null;
}

/**
 * Runs the finishing half of a flow (the callback, the SAML ACS); a refusal is recorded with what
 * `attempt` learned so far and rethrown.
 */
export async function recordingFailures<T>(
  ctx: Context,
  attempt: FederatedAttempt,
  run: (attempt: FederatedAttempt) => Promise<T>,
): Promise<T> {
  try {
    return await run(attempt);
  } catch (error) {
    if (error instanceof ApiError && FEDERATION_CODES.has(error.apiCode)) {
      const reason = typeof error.meta?.reason === 'string' ? error.meta.reason : error.apiCode.toLowerCase();
      const em = ctx.em.fork();
      recordLogin(em, ctx, {
        userId: attempt.userId,
        method: attempt.method,
        outcome: 'failure',
        reason: reason.slice(0, 64),
        provider: attempt.provider,
        email: attempt.email,
        now: ctx.services.now(),
      });
      await em.flush();
    }
    throw error;
  }
}

/**
 * Signs in the account `identity` names (see the file's comment), in one transaction; returns where
 * the browser goes: the flow's trusted callback URL, with `twoFactorRequired=true` when the second
 * step is next.
 */
export async function completeFederatedSignIn(
  ctx: Context,
  attempt: FederatedAttempt,
  identity: FederatedIdentity,
  callbackUrl: string | null,
): Promise<{ location: string }> {
  attempt.email = identity.email;
  const now = ctx.services.now();
  try {
    const { twoFactorRequired } = await ctx.em.transactional(async (em) => {
      const userId = await accountFor(em, ctx, attempt, identity, now);
      // The user and the link exist before the membership and the session that refer to them.
      await em.flush();
      if (identity.connection) {
        await joinJustInTime(em, ctx, userId, identity.connection, now);
        await startSession(em, ctx, userId, now, ['sso'], {
          provider: identity.provider,
          ssoOrganizationId: identity.connection.organizationId,
        });
        return { twoFactorRequired: false };
      }
      const result = await finishFirstFactor({ ...ctx, em }, userId, identity.method, {
        provider: identity.provider,
      });
      return { twoFactorRequired: result.twoFactorRequired === true };
    });
    const params: Record<string, string> = twoFactorRequired ? { twoFactorRequired: 'true' } : {};
    return { location: redirectLocation(ctx.services.config, callbackUrl ?? undefined, params) };
  } catch (error) {
    // Two first sign-ins of one new identity at once: the second finds the first's rows taken.
    if (error instanceof UniqueConstraintViolationException) {
      throw federationError('ACCOUNT_NOT_LINKED', 'concurrent-link', 'This account was just linked; sign in again');
    }
    throw error;
  }
}

async function accountFor(
  em: EntityManager,
  ctx: Context,
  attempt: FederatedAttempt,
  identity: FederatedIdentity,
  now: Date,
): Promise<string> {
  const linked = await em.findOne(AccountSchema, { providerId: identity.provider, accountId: identity.subject });
  if (linked) {
    attempt.userId = linked.userId;
    const user = await em.findOneOrFail(UserSchema, { id: linked.userId });
    if (!user.isActive) throw federationError('USER_NOT_ACTIVE', 'user-not-active', 'This account is deactivated');
    linked.email = identity.email;
    linked.updatedAt = now;
    return user.id;
  }
  const user = await em.findOne(UserSchema, { email: identity.email });
  if (user) {
    attempt.userId = user.id;
    if (!user.isActive) throw federationError('USER_NOT_ACTIVE', 'user-not-active', 'This account is deactivated');
    if (!identity.emailVerified) {
      throw federationError(
        'ACCOUNT_NOT_LINKED',
        'provider-email-unverified',
        'An account with this address exists, and the provider does not vouch for the address: sign in to the account another way',
      );
    }
    if (!user.verifiedAt) {
      throw federationError(
        'ACCOUNT_NOT_LINKED',
        'account-email-unverified',
        'An account with this address exists but never verified it: verify the address (or reset the password), then sign in here again',
      );
    }
    if (await em.count(AccountSchema, { userId: user.id, providerId: identity.provider })) {
      throw federationError(
        'ACCOUNT_NOT_LINKED',
        'provider-already-linked',
        'This account is linked to another identity at this provider; sign in with that one',
      );
    }
    link(em, user.id, identity, now);
    return user.id;
  }
  if (!identity.emailVerified) {
    throw federationError(
      'EMAIL_NOT_VERIFIED',
      'provider-email-unverified',
      'The provider does not vouch for this address; verify it there, then sign in again',
    );
  }
  const fullName = (identity.name?.trim() || identity.email.slice(0, identity.email.indexOf('@'))).slice(0, 200);
  const created = createAccount(em, ctx, { email: identity.email, fullName, verifiedAt: now, now });
  attempt.userId = null;
  link(em, created.id, identity, now);
  return created.id;
}

function link(em: EntityManager, userId: string, identity: FederatedIdentity, now: Date): void {
  em.persist(
    em.create(AccountSchema, {
      id: newId(),
      userId,
      providerId: identity.provider,
      accountId: identity.subject,
      email: identity.email,
      passwordHash: null,
      createdAt: now,
      updatedAt: now,
    }),
  );
}

/**
 * Just-in-time membership: a user the connection signs in becomes a member with its role, once, when
 * the organization's plan has a seat free (members and pending invitations); else PLAN_LIMIT_REACHED
 * and the whole sign-in is undone.
 */
async function joinJustInTime(
  em: EntityManager,
  ctx: Context,
  userId: string,
  connection: NonNullable<FederatedIdentity['connection']>,
  now: Date,
): Promise<void> {
  if (await em.count(MemberSchema, { organizationId: connection.organizationId, userId })) return;
  await assertSeatAvailable(em, ctx.services.config, connection.organizationId, 'new', now);
  const memberId = newId();
  await em.insert(MemberSchema, {
    id: memberId,
    organizationId: connection.organizationId,
    userId,
    role: connection.defaultRole,
    createdAt: now,
  });
  audit(
    em,
    {
      organizationId: connection.organizationId,
      principal: { userId, kind: 'session' },
      ip: ctx.ip,
      userAgent: ctx.userAgent,
    },
    {
      action: 'member.joined',
      targetType: 'member',
      targetId: memberId,
      metadata: { via: 'sso', connectionId: connection.id, role: connection.defaultRole, userId },
    },
    now,
  );
}

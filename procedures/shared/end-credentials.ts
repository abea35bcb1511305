/**
 * What ends when a user's account changes hands or changes its secrets, in one place (README
 * "Security"):
 *
 * | event                         | sessions         | API keys | OAuth grants, their tokens | emailed links | invitations sent |
 * |-------------------------------|------------------|----------|----------------------------|---------------|------------------|
 * | sign-out                      | this one         | –        | –                          | –             | –                |
 * | password change               | all but this one | –        | all                        | all unused    | –                |
 * | email change (link confirmed) | –                | –        | –                          | all unused    | –                |
 * | password reset (emailed link) | all              | all      | all                        | all unused    | all pending      |
 * | account deletion              | all              | all      | all                        | all           | all pending      |
 *
 * Emailed links (password reset, email change, verification) end too where listed: a pending email
 * change requested by whoever knew the old password must not survive the owner's reset.
 *
 * - Everything runs in the caller's transaction, so the change and the end of what it ends commit
 *   together; the caller drops the returned cache keys once it has committed.
 * - The OpenID provider's own session follows this service's session (adapters/oauth), and a bearer
 *   token dies with its grant (server/auth/bearer.ts), so nothing derived survives.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { VerificationSchema } from '../../entities/verification.js';
import { revokeOAuthGrants } from '../../server/auth/oauth-grants.js';
import { revokeSessions } from '../../server/auth/sessions.js';
import type { AuditContext } from '../../server/tenancy.js';
import { revokeInvitesOutOfReach } from './invitations.js';

export interface Ending {
  /** Which sessions end: every one, or every one but the caller's. */
  sessions?: 'all' | { except?: string };
  apiKeys?: boolean;
  oauthGrants?: boolean;
  /** Unused emailed tokens: password reset, email change and verification links. */
  emailedLinks?: boolean;
  /** Pending invitations the user sent, in every organization; audited as `reason`. */
  invites?: { actor: Omit<AuditContext, 'organizationId'>; reason: string };
}

export interface Ended {
  revokedSessions: number;
  /** What to drop from the credential cache once the transaction has committed. */
  cacheKeys: string[];
}

/** Ends the user's credentials named by `ending`. */
export async function endCredentials(em: EntityManager, userId: string, ending: Ending, now: Date): Promise<Ended> {
  const sessions = ending.sessions
    ? await revokeSessions(
        em,
        { userId, ...(ending.sessions === 'all' ? {} : { except: ending.sessions.except }) },
        now,
      )
    : [];
  const stale = [...sessions];
  if (ending.apiKeys) {
    const keys = await em
      .getConnection()
      .execute<{ key_hash: string; previous_key_hash: string | null }[]>(
        'update api_keys set revoked_at = ? where user_id = ? and revoked_at is null returning key_hash, previous_key_hash',
        [now, userId],
        'all',
        em.getTransactionContext(),
      );
    for (const key of keys) stale.push(key.key_hash, ...(key.previous_key_hash ? [key.previous_key_hash] : []));
  }
  if (ending.oauthGrants) await revokeOAuthGrants(em, { userId });
  if (ending.emailedLinks) await em.nativeUpdate(VerificationSchema, { userId, usedAt: null }, { usedAt: now });
  if (ending.invites)
    await revokeInvitesOutOfReach(em, { userId, role: null }, ending.invites.actor, ending.invites.reason, now);
  return { revokedSessions: sessions.length, cacheKeys: stale };
}

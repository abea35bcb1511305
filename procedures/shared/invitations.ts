/**
 * Pending invitations carry their sender's authority, so they lose their force with it.
 *
 * - A sender who leaves or is removed, or whose account goes, loses all their pending invitations in
 *   that organization (all organizations for an account).
 * - A sender demoted to a role without organization:manage-members loses all of them; one demoted
 *   below owner loses the owner invitations (only an owner may invite an owner).
 * - A password reset withdraws every invitation the user sent: they may have been sent by whoever
 *   held the account before its owner took it back.
 * - The revocation runs in the caller's transaction, with an audit entry per invitation, so the
 *   change of authority and the end of its invitations commit together. It must run after the
 *   sender's member row was changed (flushed), and a new invitation is written while holding a share
 *   lock on its sender's member row (`lockSenderRole`): so of a demotion and a concurrent invitation,
 *   either the invitation sees the new role and is refused, or the demotion sees the invitation and
 *   revokes it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiError } from '../../server/errors.js';
import { ROLE_PERMISSIONS, type Role } from '../../server/scopes.js';
import { audit, type AuditContext } from '../../server/tenancy.js';

interface RevokedRow {
  id: string;
  organization_id: string;
  email: string;
  role: Role;
}

export interface InviteSender {
  userId: string;
  /** One organization; all of them when absent. */
  organizationId?: string;
  /** The role the sender holds now there; null when no longer a member (or no longer trusted at all). */
  role: Role | null;
}

/** The invitation roles a member of `role` may no longer have pending; null means every role. */
function rolesOutOfReach(role: Role | null): Role[] | null {
  if (role === null || !ROLE_PERMISSIONS[role].includes('organization:manage-members')) return null;
  return role === 'owner' ? [] : ['owner'];
}

/** Revokes the sender's pending invitations that their current role no longer covers; returns how many. */
export async function revokeInvitesOutOfReach(
  em: EntityManager,
  sender: InviteSender,
  actor: Omit<AuditContext, 'organizationId'>,
  reason: string,
  now: Date,
): Promise<number> {
  const roles = rolesOutOfReach(sender.role);
  if (roles?.length === 0) return 0;
  const conditions = [`invited_by_user_id = ?`, `status = 'pending'`];
  const params: unknown[] = [now, sender.userId];
  if (sender.organizationId !== undefined) {
    conditions.push('organization_id = ?');
    params.push(sender.organizationId);
  }
  if (roles) {
    conditions.push(`role in (${roles.map(() => '?').join(', ')})`);
    params.push(...roles);
  }
  const revoked = await em
    .getConnection()
    .execute<RevokedRow[]>(
      `update invites set status = 'revoked', revoked_at = ? where ${conditions.join(' and ')} returning id, organization_id, email, role`,
      params,
      'all',
      em.getTransactionContext(),
    );
  for (const invite of revoked) {
    audit(
      em,
      { ...actor, organizationId: invite.organization_id },
      {
        action: 'invite.revoked',
        targetType: 'invite',
        targetId: invite.id,
        metadata: { email: invite.email, role: invite.role, reason, invitedBy: sender.userId },
      },
      now,
    );
  }
  return revoked.length;
}

/**
 * Inside the transaction that writes an invitation of `inviteRole`: locks the sender's membership
 * (FOR SHARE, so a concurrent demotion waits for this transaction) and refuses what their role,
 * as it is now, may not send.
 */
export async function lockSenderRole(
  em: EntityManager,
  organizationId: string,
  userId: string,
  inviteRole: Role,
): Promise<void> {
  const [row] = await em
    .getConnection()
    .execute<{ role: Role }[]>(
      'select role from members where organization_id = ? and user_id = ? for share',
      [organizationId, userId],
      'all',
      em.getTransactionContext(),
    );
  if (!row) throw new ApiError('FORBIDDEN', 'You are not a member of this organization');
  const outOfReach = rolesOutOfReach(row.role);
  if (outOfReach === null) {
    throw new ApiError(
      'INSUFFICIENT_PERMISSIONS',
      `Your role (${row.role}) lacks the permission organization:manage-members`,
      {
        requiredPermissions: ['organization:manage-members'],
      },
    );
  }
  if (outOfReach.includes(inviteRole)) {
    throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Only an owner can invite an owner', {
      requiredPermissions: ['owner'],
    });
  }
}

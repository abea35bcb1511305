/**
 * The rules every change of membership obeys (API.md section 7):
 * - an organization always keeps at least one owner: the last owner cannot leave, be removed or be
 *   demoted (checked under a row lock on the owners, so two concurrent changes cannot both pass);
 * - admins cannot change or remove owners, nor make anyone an owner.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Member } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { ROLES, type Role } from '../../../server/scopes.js';
import { IsoDate } from '../../auth/schemas.js';

export const MemberOutput = z.object({
  id: z.string(),
  user: z.object({ id: z.string(), fullName: z.string(), email: z.string() }),
  role: z.enum(ROLES),
  joinedAt: IsoDate,
});

/** The ids of the organization's owners, locked until the transaction ends. */
export async function lockOwners(em: EntityManager, organizationId: string): Promise<string[]> {
  const rows = await em
    .getConnection()
    .execute<{ id: string }[]>(
      `select id from members where organization_id = ? and role = 'owner' for update`,
      [organizationId],
      'all',
      em.getTransactionContext(),
    );
  return rows.map((r) => r.id);
}

export function lastOwnerError(action: string): ApiError {
  return new ApiError('CONFLICT', `The last owner cannot ${action}; make another member an owner first`);
}

/** Refuses what an admin may not do to an owner (or make of someone). */
export function assertMayManage(actorRole: Role, target: Pick<Member, 'role'>, newRole?: Role): void {
  if (actorRole === 'owner') return;
  if (target.role === 'owner' || newRole === 'owner') {
    throw new ApiError('INSUFFICIENT_PERMISSIONS', 'Only an owner can change, remove or appoint owners', {
      requiredPermissions: ['owner'],
    });
  }
}

/**
 * The account as /api/user/me shows it, read in one round trip. A key pinned to one organization
 * counts only that one: it sees nothing of the user's other organizations.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ApiError } from '../../../server/errors.js';
import { isoTimestamp, preparedRows, twoFactorEnabledSql } from '../../../server/sql.js';
import { IsoDate } from '../../auth/schemas.js';

/** The profile and its counts in one statement, built once. */
const PROFILE_SQL = `select u.id, ${isoTimestamp('u.created_at')} as created_at, ${isoTimestamp('u.updated_at')} as updated_at,
            u.email, ${isoTimestamp('u.verified_at')} as verified_at, u.is_active,
            ${isoTimestamp('u.last_login_at')} as last_login_at, u.full_name, u.email_preferences, u.role, (select count(*) from members m where m.user_id = u.id and ($2::varchar is null or m.organization_id = $2))::int as organization_count,
            ${twoFactorEnabledSql('u.id')} as two_factor_enabled
       from users u where u.id = $1`;

export const Profile = z.object({
  id: z.string(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
  email: z.string(),
  isVerified: z.boolean(),
  verifiedAt: IsoDate.nullable(),
  isActive: z.boolean(),
  lastLoginAt: IsoDate.nullable(),
  fullName: z.string(),
  emailPreferences: z.object({ marketingOptOut: z.boolean() }),
  twoFactorEnabled: z.boolean(),
  organizationCount: z.number().int(),
  role: z.enum(['user', 'admin']),
});
export type Profile = z.output<typeof Profile>;

interface ProfileRow {
  id: string;
  created_at: string;
  updated_at: string;
  email: string;
  verified_at: string | null;
  is_active: boolean;
  last_login_at: string | null;
  full_name: string;
  email_preferences: { marketingOptOut?: boolean } | null;
  role: 'user' | 'admin';
  organization_count: number;
  two_factor_enabled: boolean;
}

export async function loadProfile(em: EntityManager, userId: string, pinnedOrganizationId?: string): Promise<Profile> {
  const [row] = await preparedRows<ProfileRow>(em, 'user_profile', PROFILE_SQL, [userId, pinnedOrganizationId ?? null]);
  if (!row) throw new ApiError('NOT_FOUND', 'This account no longer exists');
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    email: row.email,
    isVerified: row.verified_at !== null,
    verifiedAt: row.verified_at,
    isActive: row.is_active,
    lastLoginAt: row.last_login_at,
    fullName: row.full_name,
    emailPreferences: { marketingOptOut: row.email_preferences?.marketingOptOut ?? false },
    twoFactorEnabled: row.two_factor_enabled,
    organizationCount: row.organization_count,
    role: row.role,
  };
}

import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { hasSecondFactorSql, twoFactorEnabledSql } from '../../../server/sql.js';
import { ROLES, type Role } from '../../../server/scopes.js';
import { mfaDeadline } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { IsoDate, isoOrNull } from '../../auth/schemas.js';
import { likePattern } from '../../shared/search.js';

const ComplianceOutput = z.object({
  userId: z.string(),
  email: z.string(),
  fullName: z.string(),
  role: z.enum(ROLES),
  twoFactorEnabled: z.boolean(),
  passkeyCount: z.number().int(),
  compliant: z.boolean().describe('A confirmed TOTP or at least one passkey'),
  deadline: IsoDate.nullable().describe('When the member must comply; null while MFA is not required'),
});

interface Row {
  user_id: string;
  email: string;
  full_name: string;
  role: Role;
  joined_at: string;
  two_factor_enabled: boolean;
  passkey_count: number;
}

/**
 * GET /api/user/organizations/{organizationId}/mfa/compliance: every member's second factors, newest
 * member first; `q` searches names and emails, `compliant` keeps those who do (or do not) comply.
 */
export const listMfaCompliance = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/mfa/compliance',
      tags: ['security'],
      summary: 'Members’ MFA status',
    },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
  })
  .input(
    PageInput.extend({
      organizationId: z.string(),
      q: z.string().max(100, 'Must be at most 100 characters').optional(),
      compliant: z.enum(['true', 'false']).optional(),
    }),
  )
  .output(pageOf(ComplianceOutput))
  .query(async ({ ctx, input }) => {
    const twoFactor = twoFactorEnabledSql('m.user_id');
    const passkeys = `(select count(*) from passkeys p where p.user_id = m.user_id)::int`;
    const where = ['m.organization_id = ?'];
    const params: unknown[] = [ctx.organization.id];
    if (input.q) {
      const pattern = likePattern(input.q);
      where.push(`(u.full_name ilike ? escape '\\' or u.email ilike ? escape '\\')`);
      params.push(pattern, pattern);
    }
    if (input.compliant) where.push(`${input.compliant === 'true' ? '' : 'not '}${hasSecondFactorSql('m.user_id')}`);
    const [organization, { rows, total }] = await Promise.all([
      ctx.em
        .fork()
        .findOneOrFail(
          OrganizationSchema,
          { id: ctx.organization.id },
          { fields: ['mfaRequired', 'mfaGracePeriodDays', 'mfaRequiredSince'] },
        ),
      pageOfRows<Row>(
        ctx.em,
        {
          columns: `m.user_id, u.email, u.full_name, m.role, m.created_at as joined_at,
                    ${twoFactor} as two_factor_enabled, ${passkeys} as passkey_count`,
          from: `from members m join users u on u.id = m.user_id where ${where.join(' and ')}`,
          orderBy: 'm.created_at desc, m.id desc',
          params,
        },
        input,
      ),
    ]);
    const policy = {
      required: organization.mfaRequired,
      requiredSince: organization.mfaRequiredSince,
      gracePeriodDays: organization.mfaGracePeriodDays,
    };
    const items = rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      fullName: r.full_name,
      role: r.role,
      twoFactorEnabled: r.two_factor_enabled,
      passkeyCount: r.passkey_count,
      compliant: r.two_factor_enabled || r.passkey_count > 0,
      deadline: isoOrNull(mfaDeadline(policy, new Date(r.joined_at))),
    }));
    return toPage(items, total, input);
  });

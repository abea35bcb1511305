import { z } from 'zod';
import { PERMISSIONS, ROLES } from '../../../server/scopes.js';
import { ssoUrls } from '../../../server/sso-urls.js';
import { MFA_SETUP, mfaBlocks, ssoRequiredConnection } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { iso, IsoDate, isoOrNull } from '../../auth/schemas.js';

/**
 * GET /api/user/organizations/{organizationId}/my-membership: my role, what it lets me do, and where I
 * stand with the organization's MFA and SSO-required policies. Open to a member the policies shut out
 * (meta.mfaExempt), so that they can see why every other route answers MFA_REQUIRED or SSO_REQUIRED,
 * and where to set up a second factor or sign in through the organization's SSO.
 */
export const myMembership = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/my-membership',
      tags: ['members'],
      summary: 'My role and permissions',
    },
    message: 'Membership fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:read',
    mfaExempt: true,
  })
  .input(z.object({ organizationId: z.string() }))
  .output(
    z.object({
      memberId: z.string(),
      role: z.enum(ROLES),
      permissions: z.array(z.enum(PERMISSIONS)),
      joinedAt: IsoDate,
      organization: z.object({ id: z.string(), name: z.string(), slug: z.string() }),
      mfa: z.object({
        required: z.boolean(),
        compliant: z.boolean().describe('I have a confirmed TOTP or a passkey'),
        deadline: IsoDate.nullable().describe('When I must comply; null while MFA is not required'),
        blocked: z.boolean().describe('The deadline passed without a second factor: other routes answer MFA_REQUIRED'),
        setUp: z.object({ enable: z.string(), passkey: z.string() }).describe('Where to set up a second factor'),
      }),
      sso: z.object({
        required: z.boolean().describe('My address is on a verified domain of a connection the organization requires'),
        blocked: z
          .boolean()
          .describe(
            'This credential did not come from a sign-in through the organization’s SSO: other routes answer SSO_REQUIRED',
          ),
        providerId: z.string().nullable().describe('The connection to sign in through; null while not required'),
        signInUrl: z.string().nullable().describe('Where that sign-in starts; null while not required'),
      }),
    }),
  )
  .query(({ ctx }) => ({
    memberId: ctx.membership.id,
    role: ctx.membership.role,
    permissions: [...ctx.membership.permissions],
    joinedAt: iso(ctx.membership.joinedAt),
    organization: ctx.organization,
    mfa: {
      required: ctx.membership.mfa.required,
      compliant: ctx.membership.mfa.compliant,
      deadline: isoOrNull(ctx.membership.mfa.deadline),
      blocked: mfaBlocks(ctx.membership.mfa, ctx.services.now()),
      setUp: { ...MFA_SETUP },
    },
    sso: {
      required: ctx.membership.ssoConnectionId !== null,
      blocked: ssoRequiredConnection(ctx.membership.ssoConnectionId, ctx.principal, ctx.organization.id) !== null,
      providerId: ctx.membership.ssoConnectionId,
      signInUrl:
        ctx.membership.ssoConnectionId === null
          ? null
          : ssoUrls(ctx.services.config.baseUrl, ctx.membership.ssoConnectionId).signIn,
    },
  }));

import { z } from 'zod';
import { MemberSchema, OrganizationSchema } from '../../../entities/organization.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { OrganizationOutput, organizationOutput } from './organization.js';

/** GET /api/user/organizations/{organizationId} */
export const getOrganization = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}',
      tags: ['organizations'],
      summary: 'An organization',
    },
    message: 'Organization fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(OrganizationOutput.extend({ memberCount: z.number().int() }))
  .query(async ({ ctx }) => {
    const [organization, memberCount] = await Promise.all([
      ctx.em.findOneOrFail(OrganizationSchema, { id: ctx.organization.id }),
      ctx.em.fork().count(MemberSchema, { organizationId: ctx.organization.id }),
    ]);
    return { ...organizationOutput(organization), memberCount };
  });

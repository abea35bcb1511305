import { z } from 'zod';
import { DEFAULT_SETTINGS, OrganizationSchema } from '../../../entities/organization.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { SettingsOutput } from './settings.js';

/** GET /api/user/organizations/{organizationId}/settings */
export const getSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/settings',
      tags: ['settings'],
      summary: 'Organization settings',
    },
    message: 'Settings fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-settings',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(SettingsOutput)
  .query(async ({ ctx }) => {
    const organization = await ctx.em.findOneOrFail(
      OrganizationSchema,
      { id: ctx.organization.id },
      { fields: ['settings'] },
    );
    return { ...DEFAULT_SETTINGS, ...organization.settings };
  });

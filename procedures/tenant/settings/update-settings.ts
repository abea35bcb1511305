import { z } from 'zod';
import { DEFAULT_SETTINGS, OrganizationSchema } from '../../../entities/organization.js';
import { audit } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { SettingsChanges, SettingsOutput } from './settings.js';

/** PUT /api/user/organizations/{organizationId}/settings: the fields sent change, the others stay. */
export const updateSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/settings',
      tags: ['settings'],
      summary: 'Change organization settings',
    },
    message: 'Settings updated successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-settings',
  })
  .input(SettingsChanges.extend({ organizationId: z.string() }))
  .output(SettingsOutput)
  .mutation(async ({ ctx, input }) => {
    const { organizationId: _, ...changes } = input;
    const now = ctx.services.now();
    return ctx.em.transactional(async (em) => {
      const organization = await em.findOneOrFail(OrganizationSchema, { id: ctx.organization.id });
      const settings = { ...DEFAULT_SETTINGS, ...organization.settings, ...changes };
      if (changes.allowedEmailDomains) settings.allowedEmailDomains = [...new Set(changes.allowedEmailDomains)];
      organization.settings = settings;
      organization.updatedAt = now;
      audit(
        em,
        auditContext(ctx),
        {
          action: 'organization.settings_updated',
          targetType: 'organization',
          targetId: organization.id,
          metadata: { changed: Object.keys(changes) },
        },
        now,
      );
      await em.flush();
      return settings;
    });
  });

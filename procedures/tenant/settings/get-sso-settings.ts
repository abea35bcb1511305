import { z } from 'zod';
import { tenantProcedure } from '../../../server/trpc.js';
import { loadSsoSettings, SsoSettingsOutput, ssoSettingsOutput } from './sso.js';

/** GET /api/user/organizations/{organizationId}/settings/sso: the connections, their domains, no secret. */
export const getSsoSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/settings/sso',
      tags: ['sso'],
      summary: 'SSO connections and domains',
    },
    message: 'SSO settings fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(SsoSettingsOutput)
  .query(async ({ ctx }) =>
    ssoSettingsOutput(ctx.services.config.baseUrl, await loadSsoSettings(ctx.em, ctx.organization.id)),
  );

/** Everything under /api/user/organizations/{organizationId}. */
import { router } from '../../server/trpc.js';
import { analyticsRouter } from './analytics/router.js';
import { exportAuditLogs } from './audit-logs/export-audit-logs.js';
import { listAuditLogs } from './audit-logs/list-audit-logs.js';
import { formsRouter } from './forms/router.js';
import { invitesRouter } from './invites/router.js';
import { changeRole } from './members/change-role.js';
import { leave } from './members/leave.js';
import { listMembers } from './members/list-members.js';
import { mfaRouter } from './mfa/router.js';
import { removeMember } from './members/remove-member.js';
import { transferOwnership } from './members/transfer-ownership.js';
import { deleteOrganization } from './organization/delete-organization.js';
import { getOrganization } from './organization/get-organization.js';
import { paymentsRouter } from './payments/router.js';
import { myMembership } from './organization/my-membership.js';
import { updateOrganization } from './organization/update-organization.js';
import { projectsRouter } from './projects/router.js';
import { getBillingSettings } from './settings/get-billing-settings.js';
import { getSettings } from './settings/get-settings.js';
import { getSsoSettings } from './settings/get-sso-settings.js';
import { updateBillingSettings } from './settings/update-billing-settings.js';
import { updateSettings } from './settings/update-settings.js';
import { updateSsoSettings } from './settings/update-sso-settings.js';
import { verifySsoDomain } from './settings/verify-sso-domain.js';
import { widgetsRouter } from './widgets/router.js';

export const tenantRouter = router({
  organization: router({ get: getOrganization, update: updateOrganization, delete: deleteOrganization, myMembership }),
  members: router({ list: listMembers, changeRole, remove: removeMember, leave, transferOwnership }),
  invites: invitesRouter,
  projects: projectsRouter,
  forms: formsRouter,
  widgets: widgetsRouter,
  analytics: analyticsRouter,
  settings: router({
    get: getSettings,
    update: updateSettings,
    sso: router({ get: getSsoSettings, update: updateSsoSettings, verifyDomain: verifySsoDomain }),
    billing: router({ get: getBillingSettings, update: updateBillingSettings }),
  }),
  auditLogs: router({ list: listAuditLogs, export: exportAuditLogs }),
  mfa: mfaRouter,
  payments: paymentsRouter,
});

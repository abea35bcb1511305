import type { Principal } from '../../server/auth/credentials.js';
import type { AuditContext, OrganizationRef } from '../../server/tenancy.js';

/** Who and where, for the audit entry a tenant mutation writes. */
export function auditContext(ctx: {
  organization: OrganizationRef;
  principal: Principal;
  ip: string;
  userAgent: string;
}): AuditContext {
  return { organizationId: ctx.organization.id, principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent };
}

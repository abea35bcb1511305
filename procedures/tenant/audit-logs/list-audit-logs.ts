import { z } from 'zod';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { tenantProcedure } from '../../../server/trpc.js';
import {
  AUDIT_COLUMNS,
  AUDIT_FROM,
  AuditEntryOutput,
  auditEntry,
  AuditFilters,
  auditWhere,
  type AuditRow,
} from './audit-entry.js';

/** GET /api/user/organizations/{organizationId}/audit-logs: who did what, when, from where; newest first. */
export const listAuditLogs = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/audit-logs',
      tags: ['audit'],
      summary: 'The audit log',
    },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
  })
  .input(PageInput.extend(AuditFilters.shape).extend({ organizationId: z.string() }))
  .output(pageOf(AuditEntryOutput))
  .query(async ({ ctx, input }) => {
    const where = auditWhere(ctx.organization.id, input);
    const { rows, total } = await pageOfRows<AuditRow>(
      ctx.em,
      {
        columns: AUDIT_COLUMNS,
        from: `${AUDIT_FROM} where ${where.sql}`,
        orderBy: 'a.created_at desc, a.id desc',
        params: where.params,
      },
      input,
    );
    return toPage(rows.map(auditEntry), total, input);
  });

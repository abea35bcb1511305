import { z } from 'zod';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { AUDIT_SELECT, AuditEntryOutput, auditEntry, AuditFilters, auditWhere, type AuditRow } from './audit-entry.js';

/** GET /api/user/organizations/{organizationId}/audit-logs: who did what, when, from where; newest first. */
export const listAuditLogs = tenantProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/organizations/{organizationId}/audit-logs', tags: ['audit'], summary: 'The audit log' },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
  })
  .input(PageInput.extend(AuditFilters.shape).extend({ organizationId: z.string() }))
  .output(pageOf(AuditEntryOutput))
  .query(async ({ ctx, input }) => {
    const where = auditWhere(ctx.organization.id, input);
    const connection = ctx.em.getConnection();
    const [rows, counted] = await Promise.all([
      connection.execute<AuditRow[]>(`${AUDIT_SELECT} where ${where.sql} order by a.created_at desc, a.id desc offset ? limit ?`, [...where.params, input.offset, input.limit]),
      connection.execute<{ total: string }[]>(`select count(*) as total from audit_logs a where ${where.sql}`, where.params),
    ]);
    return toPage(rows.map(auditEntry), Number(counted[0]?.total ?? 0), input);
  });

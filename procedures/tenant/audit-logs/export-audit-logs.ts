/**
 * GET /api/user/organizations/{organizationId}/audit-logs/export: the whole (filtered) audit log as
 * JSON lines or CSV, streamed: rows are read in keyset-paged batches and written as they come, so
 * an export of any size holds one batch in memory (procedures/shared/export.ts). Over REST the body
 * is the file itself, not the envelope (meta.stream); errors before the first byte still use the envelope.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { tenantProcedure } from '../../../server/trpc.js';
import { csvLine } from '../../shared/csv.js';
import { newestFirst, StreamedFileOutput } from '../../shared/export.js';
import {
  AUDIT_COLUMNS,
  AUDIT_FROM,
  auditEntry,
  AuditFilters,
  auditWhere,
  type AuditEntryOutput,
  type AuditRow,
} from './audit-entry.js';

const CSV_COLUMNS = [
  'id',
  'createdAt',
  'action',
  'actorId',
  'actorEmail',
  'actorType',
  'targetType',
  'targetId',
  'ip',
  'userAgent',
  'metadata',
] as const;

function auditCsvLine(entry: AuditEntryOutput): string {
  const values = [
    entry.id,
    entry.createdAt,
    entry.action,
    entry.actor?.id,
    entry.actor?.email,
    entry.actorType,
    entry.targetType,
    entry.targetId,
    entry.ip,
    entry.userAgent,
    entry.metadata,
  ];
  return csvLine(values);
}

async function* exportLines(
  em: EntityManager,
  organizationId: string,
  filters: z.output<typeof AuditFilters>,
  format: 'jsonl' | 'csv',
): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  const where = auditWhere(organizationId, filters);
  const rows = newestFirst<AuditRow>(em, {
    columns: AUDIT_COLUMNS,
    from: AUDIT_FROM,
    where: where.sql,
    params: where.params,
    alias: 'a',
  });
  for await (const row of rows) {
    const entry = auditEntry(row);
    yield format === 'csv' ? auditCsvLine(entry) : `${JSON.stringify(entry)}\n`;
  }
}

export const exportAuditLogs = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/audit-logs/export',
      tags: ['audit'],
      summary: 'Export the audit log (JSON lines or CSV)',
    },
    message: 'Audit log exported',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
    stream: ['application/x-ndjson', 'text/csv'],
  })
  .input(AuditFilters.extend({ organizationId: z.string(), format: z.enum(['jsonl', 'csv']).default('jsonl') }))
  .output(StreamedFileOutput)
  .query(({ ctx, input }) => {
    const stamp = ctx.services.now().toISOString().slice(0, 10);
    return {
      filename: `audit-log-${ctx.organization.slug}-${stamp}.${input.format}`,
      contentType: input.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      lines: exportLines(ctx.em, ctx.organization.id, input, input.format),
    };
  });

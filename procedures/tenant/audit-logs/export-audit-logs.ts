/**
 * GET /api/user/organizations/{organizationId}/audit-logs/export: the whole (filtered) audit log as
 * JSON lines or CSV, streamed: rows are read in keyset-paged batches and written as they come, so
 * an export of any size holds one batch in memory. Over REST the body is the file itself, not the
 * envelope (meta.stream); errors before the first byte still use the envelope.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { tenantProcedure } from '../../../server/trpc.js';
import {
  AUDIT_COLUMNS,
  AUDIT_FROM,
  auditEntry,
  AuditFilters,
  auditWhere,
  type AuditEntryOutput,
  type AuditRow,
} from './audit-entry.js';

const BATCH = 500;
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

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  // Quote everything; a leading = + - @ is neutralised so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

function csvLine(entry: AuditEntryOutput): string {
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
  return `${values.map(csvCell).join(',')}\n`;
}

async function* exportLines(
  em: EntityManager,
  organizationId: string,
  filters: z.output<typeof AuditFilters>,
  format: 'jsonl' | 'csv',
): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
  const where = auditWhere(organizationId, filters);
  let after: { createdAt: string; id: string } | undefined;
  for (;;) {
    const keyset = after ? ' and (a.created_at, a.id) < (?, ?)' : '';
    const rows = await em
      .getConnection()
      .execute<AuditRow[]>(
        `select ${AUDIT_COLUMNS} ${AUDIT_FROM} where ${where.sql}${keyset} order by a.created_at desc, a.id desc limit ${BATCH}`,
        after ? [...where.params, after.createdAt, after.id] : where.params,
      );
    for (const row of rows) {
      const entry = auditEntry(row);
      yield format === 'csv' ? csvLine(entry) : `${JSON.stringify(entry)}\n`;
    }
    if (rows.length < BATCH) return;
    const last = rows[rows.length - 1]!;
    after = { createdAt: last.created_at, id: last.id };
  }
}

const Lines = z
  .custom<AsyncIterable<string>>(
    (value) => typeof (value as AsyncIterable<string> | null)?.[Symbol.asyncIterator] === 'function',
  )
  .meta({ override: { type: 'string', description: 'The file, streamed' } });

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
  .output(z.object({ filename: z.string(), contentType: z.string(), lines: Lines }))
  .query(({ ctx, input }) => {
    const stamp = ctx.services.now().toISOString().slice(0, 10);
    return {
      filename: `audit-log-${ctx.organization.slug}-${stamp}.${input.format}`,
      contentType: input.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      lines: exportLines(ctx.em, ctx.organization.id, input, input.format),
    };
  });

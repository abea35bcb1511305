import { z } from 'zod';
import { IsoDate } from '../../auth/schemas.js';

export const AuditEntryOutput = z.object({
  id: z.string(),
  action: z.string(),
  actor: z.object({ id: z.string(), fullName: z.string(), email: z.string() }).nullable(),
  actorType: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  ip: z.string(),
  userAgent: z.string(),
  createdAt: IsoDate,
});
export type AuditEntryOutput = z.output<typeof AuditEntryOutput>;

export const AuditFilters = z.object({
  action: z.string().max(64).optional(),
  actorUserId: z.string().max(26).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export interface AuditRow {
  id: string;
  action: string;
  actor_user_id: string | null;
  actor_type: string;
  target_type: string;
  target_id: string | null;
  metadata: Record<string, unknown>;
  ip: string;
  user_agent: string;
  created_at: string;
  full_name: string | null;
  email: string | null;
}

/** The WHERE clause of an audit query: always this organization, then the filters. */
export function auditWhere(
  organizationId: string,
  filters: z.output<typeof AuditFilters>,
): { sql: string; params: unknown[] } {
  const where = ['a.organization_id = ?'];
  const params: unknown[] = [organizationId];
  if (filters.action) {
    where.push('a.action = ?');
    params.push(filters.action);
  }
  if (filters.actorUserId) {
    where.push('a.actor_user_id = ?');
    params.push(filters.actorUserId);
  }
  if (filters.from) {
    where.push('a.created_at >= ?');
    params.push(new Date(filters.from));
  }
  if (filters.to) {
    where.push('a.created_at < ?');
    params.push(new Date(filters.to));
  }
  return { sql: where.join(' and '), params };
}

export const AUDIT_COLUMNS = `a.id, a.action, a.actor_user_id, a.actor_type, a.target_type, a.target_id, a.metadata, a.ip, a.user_agent,
  a.created_at, u.full_name, u.email`;
export const AUDIT_FROM = 'from audit_logs a left join users u on u.id = a.actor_user_id';

export function auditEntry(row: AuditRow): AuditEntryOutput {
  return {
    id: row.id,
    action: row.action,
    actor:
      row.actor_user_id && row.full_name !== null && row.email !== null
        ? { id: row.actor_user_id, fullName: row.full_name, email: row.email }
        : null,
    actorType: row.actor_type,
    targetType: row.target_type,
    targetId: row.target_id,
    metadata: row.metadata,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

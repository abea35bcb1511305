import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, ownedBy, timestamp } from './columns.js';

/** Who did what to which target in an organization, when and from where. */
export interface AuditLogEntry {
  id: string;
  organizationId: string;
  actorUserId: string | null;
  /** How the actor authenticated: session, apiKey or oauth. */
  actorType: string;
  action: string;
  targetType: string;
  targetId: string | null;
  metadata: Record<string, unknown>;
  ip: string;
  userAgent: string;
  createdAt: Date;
}

export const AuditLogSchema = new EntitySchema<AuditLogEntry>({
  name: 'AuditLogEntry',
  tableName: 'audit_logs',
  indexes: [{ name: 'audit_logs_organization_created_idx', properties: ['organizationId', 'createdAt'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id', index: false },
    actorUserId: clearedWith('User', 'actor_user_id'),
    actorType: { type: 'string', length: 16 },
    action: { type: 'string', length: 64 },
    targetType: { type: 'string', length: 32 },
    targetId: { type: 'string', length: 64, nullable: true },
    metadata: { type: 'json', columnType: 'jsonb' },
    ip: { type: 'string', length: 64 },
    userAgent: { type: 'string', length: 512 },
    createdAt: timestamp,
  },
});

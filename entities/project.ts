import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, ownedBy, timestamp } from './columns.js';

export type ProjectStatus = 'draft' | 'active' | 'paused';

export interface Project {
  id: string;
  organizationId: string;
  name: string;
  /** Unique within its organization. */
  slug: string;
  website: string | null;
  description: string | null;
  status: ProjectStatus;
  /** `pk_…`: public by design (widgets, tracking), so stored as is. */
  publishableKey: string;
  /** Origins browsers may call /public/track from with this project's key; empty: any origin. */
  allowedOrigins: string[];
  createdByUserId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const ProjectSchema = new EntitySchema<Project>({
  name: 'Project',
  tableName: 'projects',
  uniques: [{ name: 'projects_organization_slug_unique', properties: ['organizationId', 'slug'] }],
  indexes: [{ name: 'projects_organization_created_idx', properties: ['organizationId', 'createdAt'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id', index: false },
    name: { type: 'string', length: 100 },
    slug: { type: 'string', length: 64 },
    website: { type: 'string', length: 2048, nullable: true },
    description: { type: 'text', nullable: true },
    status: { type: 'string', length: 16 },
    publishableKey: { type: 'string', length: 64, unique: 'projects_publishable_key_unique' },
    allowedOrigins: { type: 'string[]', columnType: 'text[]', default: '{}' },
    createdByUserId: clearedWith('User', 'created_by_user_id'),
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

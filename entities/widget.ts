import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, ownedBy, timestamp } from './columns.js';

export const WIDGET_TYPES = ['signup-form', 'counter'] as const;
export type WidgetType = (typeof WIDGET_TYPES)[number];

/** A project's embeddable widget; served to anyone at /public/widgets/{id} while published. */
export interface Widget {
  id: string;
  organizationId: string;
  projectId: string;
  name: string;
  type: WidgetType;
  published: boolean;
  /** Per type; validated by the widget procedures. The form of a sign-up widget is `formId`, not here. */
  config: Record<string, unknown>;
  /** The form a sign-up widget embeds; cleared when the form is deleted. */
  formId: string | null;
  createdByUserId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const WidgetSchema = new EntitySchema<Widget>({
  name: 'Widget',
  tableName: 'widgets',
  indexes: [{ name: 'widgets_project_created_idx', properties: ['projectId', 'createdAt'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id' },
    projectId: { ...ownedBy('Project'), fieldName: 'project_id', index: false },
    name: { type: 'string', length: 100 },
    type: { type: 'string', length: 32 },
    published: { type: 'boolean', default: false },
    config: { type: 'json', columnType: 'jsonb' },
    formId: { ...clearedWith('Form', 'form_id'), index: true },
    createdByUserId: clearedWith('User', 'created_by_user_id'),
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

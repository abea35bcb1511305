import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, ownedBy, timestamp } from './columns.js';

export const FORM_FIELD_TYPES = ['text', 'email', 'number', 'checkbox', 'select', 'textarea'] as const;
export type FormFieldType = (typeof FORM_FIELD_TYPES)[number];

/** One field of a public form, as its owner defined it. */
export interface FormField {
  name: string;
  label: string;
  type: FormFieldType;
  required: boolean;
  maxLength: number | null;
  /** The choices of a `select` field; null for every other type. */
  options: string[] | null;
}

/** A project's public sign-up form; anyone may submit it while it is published and the project active. */
export interface Form {
  id: string;
  organizationId: string;
  projectId: string;
  name: string;
  published: boolean;
  fields: FormField[];
  /** A field hidden from people: a submission that fills it is answered as a success and not stored. */
  honeypotField: string;
  createdByUserId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const FormSchema = new EntitySchema<Form>({
  name: 'Form',
  tableName: 'forms',
  indexes: [{ name: 'forms_project_created_idx', properties: ['projectId', 'createdAt'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id' },
    projectId: { ...ownedBy('Project'), fieldName: 'project_id', index: false },
    name: { type: 'string', length: 100 },
    published: { type: 'boolean', default: false },
    fields: { type: 'json', columnType: 'jsonb' },
    honeypotField: { type: 'string', length: 64 },
    createdByUserId: clearedWith('User', 'created_by_user_id'),
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

/** What someone submitted to a form, with where it came from. */
export interface FormSubmission {
  id: string;
  organizationId: string;
  projectId: string;
  formId: string;
  /** The submitted values by field name, as validated against the form's fields at the time. */
  data: Record<string, unknown>;
  ip: string;
  userAgent: string | null;
  createdAt: Date;
}

export const FormSubmissionSchema = new EntitySchema<FormSubmission>({
  name: 'FormSubmission',
  tableName: 'form_submissions',
  indexes: [{ name: 'form_submissions_form_created_idx', properties: ['formId', 'createdAt', 'id'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id' },
    projectId: { ...ownedBy('Project'), fieldName: 'project_id' },
    formId: { ...ownedBy('Form'), fieldName: 'form_id', index: false },
    data: { type: 'json', columnType: 'jsonb' },
    ip: { type: 'string', length: 45 },
    userAgent: { type: 'string', length: 512, nullable: true },
    createdAt: timestamp,
  },
});

/**
 * Fixtures for widgets, written straight to the database: a form and submissions to it, as the
 * widget routes need them, without going through the forms routes (tested on their own).
 */
import { FormSchema, FormSubmissionSchema, type FormField } from '../../entities/form.js';
import { newId } from '../../server/ids.js';
import type { TestApp } from './app.js';
import { createProject, formOwner, type Owner } from './forms.js';

/** Where a widget can be made: an owner, an active project of theirs, and a published form of it. */
export interface WidgetPlace {
  owner: Owner;
  organizationId: string;
  projectId: string;
  formId: string;
}

/** A new place for widgets; in `owner`'s organization when given, else a new owner's. */
export async function widgetPlace(t: TestApp, owner?: Owner): Promise<WidgetPlace> {
  const who = owner ?? (await formOwner(t));
  const projectId = await createProject(t, who);
  const formId = await insertForm(t, { organizationId: who.organizationId, projectId });
  return { owner: who, organizationId: who.organizationId, projectId, formId };
}

export const WIDGET_FORM_FIELDS: FormField[] = [
  { name: 'email', label: 'Email', type: 'email', required: true, maxLength: 254, options: null },
  { name: 'name', label: 'Your name', type: 'text', required: false, maxLength: 100, options: null },
  { name: 'plan', label: 'Plan', type: 'select', required: true, maxLength: null, options: ['free', 'pro'] },
];

/** A form of the project (published unless said otherwise); its id. */
export async function insertForm(
  t: TestApp,
  project: { organizationId: string; projectId: string },
  options: { published?: boolean; fields?: FormField[] } = {},
): Promise<string> {
  const id = newId();
  const now = new Date();
  await t.services.orm.em.fork().insert(FormSchema, {
    id,
    organizationId: project.organizationId,
    projectId: project.projectId,
    name: 'Newsletter',
    published: options.published ?? true,
    fields: options.fields ?? WIDGET_FORM_FIELDS,
    honeypotField: 'website_url',
    createdByUserId: null,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

/** `count` submissions to a form, inserted in one statement. */
export async function addSubmissions(
  t: TestApp,
  form: { organizationId: string; projectId: string; formId: string },
  count: number,
): Promise<void> {
  const em = t.services.orm.em.fork();
  const now = new Date();
  const rows = Array.from({ length: count }, (_, n) => ({
    id: newId(),
    ...form,
    data: { email: `person${n}@example.com`, plan: 'free' },
    ip: '203.0.113.7',
    userAgent: 'fixture',
    createdAt: now,
  }));
  if (rows.length > 0) await em.insertMany(FormSubmissionSchema, rows);
}

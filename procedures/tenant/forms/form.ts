/**
 * Forms as tenant routes show them, and the rules their writes share.
 *
 * - A form is found only inside the project and organization of the path (findInProject).
 * - The honeypot is never the name of one of the form's fields: a person would fill it in and be
 *   dropped as a bot.
 * - Every change is audited through the EntityManager of its transaction.
 */
import { z } from 'zod';
import type { Form, FormField } from '../../../entities/form.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { iso, IsoDate } from '../../auth/schemas.js';
import { FieldName, FormFieldOutput, FormFields, submitUrl } from '../../shared/form-fields.js';

export { FormId } from '../../shared/form-fields.js';

/** The writable fields, shared by create (name and fields required) and update (all optional). */
export const FormInputFields = {
  name: z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  published: z.boolean(),
  fields: FormFields,
  honeypotField: FieldName,
};

export const FormOutput = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  published: z.boolean(),
  fields: z.array(FormFieldOutput),
  honeypotField: z.string(),
  submitUrl: z.string().describe('Where the public posts submissions (JSON or an HTML form)'),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type FormOutput = z.output<typeof FormOutput>;

type FormView = Pick<Form, 'id' | 'projectId' | 'name' | 'published' | 'fields' | 'honeypotField'> & {
  createdAt: Date | string;
  updatedAt: Date | string;
};

export function formOutput(form: FormView, baseUrl: string): FormOutput {
  return {
    id: form.id,
    projectId: form.projectId,
    name: form.name,
    published: form.published,
    fields: form.fields.map((field) => ({
      name: field.name,
      label: field.label,
      type: field.type,
      required: field.required,
      maxLength: field.maxLength,
      options: field.options,
    })),
    honeypotField: form.honeypotField,
    submitUrl: submitUrl(baseUrl, form.id),
    createdAt: iso(new Date(form.createdAt)),
    updatedAt: iso(new Date(form.updatedAt)),
  };
}

/** Refuses a honeypot that one of the fields is named. */
export function assertHoneypotFree(honeypotField: string, fields: readonly FormField[]): void {
  if (fields.some((field) => field.name === honeypotField)) {
    const errors: FieldError[] = [
      { field: 'honeypotField', error: `Must not be the name of a field (${honeypotField})`, location: 'body' },
    ];
    throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
  }
}

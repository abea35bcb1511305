/**
 * A public form's fields, for both tiers: the schema an owner's field definitions must pass (tenant
 * forms), and the zod schema a submission must pass, built from a form's fields (public submissions).
 *
 * - Field names are identifiers (a letter, then letters, digits, underscores; 64 at most), unique in
 *   their form, and never `formId` (the path parameter of the submission route) nor the honeypot.
 * - A submission is a strict object: an unknown field is refused by name, as is a missing required one.
 * - What an HTML form sends is accepted as such: numbers as numeric strings, a checkbox as `on` when
 *   checked and absent when not, an empty input as absent. Strings are trimmed.
 * - Text never exceeds its field's maxLength (a default when none is stored) and holds no control
 *   character, except line breaks and tabs in a textarea.
 */
import { z } from 'zod';
import { FORM_FIELD_TYPES, type FormField } from '../../entities/form.js';
import { ULID_PATTERN } from '../../server/ids.js';

export const FormId = z.string().regex(ULID_PATTERN, 'Must be a form id');

export const MAX_FIELDS = 50;
export const MAX_TEXT_LENGTH = 10_000;
const MAX_OPTIONS = 100;
/** The reserved name: the submission route's path parameter shares the input with the fields. */
const RESERVED_NAMES = new Set(['formId']);

type TextType = 'text' | 'email' | 'textarea';
const DEFAULT_MAX_LENGTH: Record<TextType, number> = { text: 1000, email: 254, textarea: 5000 };
const isTextType = (type: FormField['type']): type is TextType => type in DEFAULT_MAX_LENGTH;

/** Plausible names a bot fills in, tried in order for a form created without one. */
const HONEYPOT_NAMES = ['website_url', 'company_website', 'homepage_url', 'fax_number'];

/** The name of a field or of the honeypot. */
export const FieldName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, {
    error: 'Must be a letter, then letters, digits or underscores (64 at most)',
    abort: true,
  })
  .refine((name) => !RESERVED_NAMES.has(name), 'Is reserved: choose another name');

const FieldDefinition = z
  .strictObject({
    name: FieldName,
    label: z.string().trim().min(1, 'Required').max(200, 'Must be at most 200 characters'),
    type: z.enum(FORM_FIELD_TYPES),
    required: z.boolean().default(false),
    maxLength: z
      .number()
      .int('Must be a whole number')
      .min(1, `Must be between 1 and ${MAX_TEXT_LENGTH}`)
      .max(MAX_TEXT_LENGTH, `Must be between 1 and ${MAX_TEXT_LENGTH}`)
      .nullable()
      .optional(),
    options: z
      .array(z.string().trim().min(1, 'Must not be empty').max(200, 'Must be at most 200 characters'))
      .max(MAX_OPTIONS, `Must be at most ${MAX_OPTIONS} options`)
      .nullable()
      .optional(),
  })
  .superRefine((field, ctx) => {
    if (field.maxLength != null && !isTextType(field.type))
      ctx.addIssue({ code: 'custom', path: ['maxLength'], message: 'Only text, email and textarea fields have one' });
    if (field.type !== 'select') {
      if (field.options != null)
        ctx.addIssue({ code: 'custom', path: ['options'], message: 'Only select fields have options' });
    } else if (!field.options?.length) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'A select field needs at least one option' });
    } else if (new Set(field.options).size !== field.options.length) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'Must not repeat an option' });
    }
  })
  .transform(
    (field): FormField => ({
      name: field.name,
      label: field.label,
      type: field.type,
      required: field.required,
      maxLength: isTextType(field.type) ? (field.maxLength ?? DEFAULT_MAX_LENGTH[field.type]) : null,
      options: field.type === 'select' ? (field.options ?? null) : null,
    }),
  );

/** A form's field definitions: 1 to 50, names unique; stored as the output gives them (defaults filled in). */
export const FormFields = z
  .array(FieldDefinition)
  .min(1, 'A form needs at least one field')
  .max(MAX_FIELDS, `A form has at most ${MAX_FIELDS} fields`)
  .superRefine((fields, ctx) => {
    const seen = new Set<string>();
    for (const [index, field] of fields.entries()) {
      if (seen.has(field.name))
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `Another field is named ${field.name}` });
      seen.add(field.name);
    }
  });

/** A field as routes show it, to the form's owner and to the public (a sign-up widget). */
export const FormFieldOutput = z.object({
  name: z.string(),
  label: z.string(),
  type: z.enum(FORM_FIELD_TYPES),
  required: z.boolean(),
  maxLength: z.number().nullable().describe('Characters at most (text, email, textarea); null for other types'),
  options: z.array(z.string()).nullable().describe('The choices of a select field; null for other types'),
});

/** The honeypot of a new form that names none: the first plausible name no field has. */
export function defaultHoneypot(fields: readonly FormField[]): string {
  const names = new Set(fields.map((field) => field.name));
  return HONEYPOT_NAMES.find((name) => !names.has(name)) ?? `hp_${names.size}`;
}

/** Where a form's submissions are posted: an absolute URL, for an HTML form's `action`. */
export function submitUrl(baseUrl: string, formId: string): string {
  return `${baseUrl.replace(/\/$/, '')}/api/public/forms/${formId}/submissions`;
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_BREAKS = /(?![\n\r\t])\p{Cc}/u;

/** A missing value's message, else the type's. */
const requiredOr =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'Required' : message;

/** What an empty input sends (an empty or blank string, null) reads as absent. */
const blankAsAbsent = (value: unknown): unknown =>
  value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value;

/** The schema of one field's value, present or not (absence is judged by the caller). */
function valueSchema(field: FormField): z.ZodType {
  const maxLength = isTextType(field.type) ? (field.maxLength ?? DEFAULT_MAX_LENGTH[field.type]) : MAX_TEXT_LENGTH;
  const text = z
    .string({ error: requiredOr('Must be text') })
    .trim()
    .max(maxLength, { error: `Must be at most ${maxLength} characters`, abort: true });
  switch (field.type) {
    case 'text':
      return text.refine((value) => !CONTROL.test(value), 'Must not contain control characters');
    case 'textarea':
      return text.refine((value) => !CONTROL_BUT_BREAKS.test(value), 'Must not contain control characters');
    case 'email':
      return text.pipe(z.email('Must be an email address'));
    case 'number':
      return z.preprocess(
        (value) => (typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value) : value),
        z.number({ error: requiredOr('Must be a number') }),
      );
    case 'select': {
      const options = field.options ?? [];
      const listed = options.join(', ');
      return z.enum(options as [string, ...string[]], {
        error: requiredOr(listed.length <= 200 ? `Must be one of: ${listed}` : "Must be one of the field's options"),
      });
    }
    case 'checkbox': {
      const checkbox = z.preprocess(
        (value) =>
          value === undefined || value === 'false' ? false : value === 'on' || value === 'true' ? true : value,
        z.boolean({ error: 'Must be true or false (or "on", as an HTML checkbox sends)' }),
      );
      return field.required ? checkbox.refine((checked) => checked, 'Must be checked') : checkbox;
    }
  }
}

/**
 * The schema of a submission to a form with these fields: a strict object whose output holds every
 * field, an absent optional one as null (a checkbox as false).
 */
export function submissionSchema(fields: readonly FormField[]) {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const value = valueSchema(field);
    shape[field.name] =
      field.type === 'checkbox'
        ? value
        : z.preprocess(blankAsAbsent, field.required ? value : value.optional().transform((v) => v ?? null));
  }
  return z.strictObject(shape);
}

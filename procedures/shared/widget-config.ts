/**
 * A widget's `config`, per type: what the tenant routes accept and show, and the part the public
 * route serves to anyone.
 *
 * - `type` and `config` are checked together by one discriminated union on `type`: every string has a
 *   limit, colours are `#rrggbb`, unknown keys are refused; an issue names its field as `config.…`.
 * - Both types name a form of the widget's own project (`config.formId`). It is stored in
 *   widgets.form_id, not in the jsonb, so that deleting the form clears it and the widget stops
 *   being served; the rest of the config is the jsonb.
 */
import { z } from 'zod';
import { WIDGET_TYPES, type Widget } from '../../entities/widget.js';
import { ApiError, fieldErrors, validationMessage } from '../../server/errors.js';
import { ULID_PATTERN } from '../../server/ids.js';
import { FormId } from './form-fields.js';

export const WidgetId = z.string().regex(ULID_PATTERN, 'Must be a widget id');

export const WidgetType = z.enum(WIDGET_TYPES, `Must be one of ${WIDGET_TYPES.join(', ')}`);

const text = (max: number) =>
  z.string().trim().min(1, 'Must not be empty').max(max, `Must be at most ${max} characters`);

const Theme = z.strictObject({
  primaryColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'Must be a colour written #rrggbb'),
});

const SIGNUP_FORM_TEXTS = {
  title: text(200).optional(),
  description: text(1000).optional(),
  submitLabel: text(50).optional(),
  successMessage: text(500).optional(),
  theme: Theme.optional(),
};
const COUNTER_TEXTS = { label: text(100) };

/** Both types, written as a tenant sends them: the form inside the config. */
export const WidgetDefinition = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('signup-form'),
    config: z.strictObject({ formId: FormId, ...SIGNUP_FORM_TEXTS }),
  }),
  z.strictObject({ type: z.literal('counter'), config: z.strictObject({ formId: FormId, ...COUNTER_TEXTS }) }),
]);
export type WidgetDefinition = z.output<typeof WidgetDefinition>;

/** The body's `config` before its type is known; `definitionOf` judges it. */
export const ConfigInput = z
  .record(z.string(), z.unknown())
  .describe(
    'Per type. signup-form: {formId, title?, description?, submitLabel?, successMessage?, theme?: {primaryColor: "#rrggbb"}}; ' +
      'counter: {label, formId}. formId is a form of the same project; unknown keys are refused.',
  );

/** `config` judged against `type`: the definition, or VALIDATION_ERROR naming each `config.…` field. */
export function definitionOf(type: Widget['type'], config: Record<string, unknown>): WidgetDefinition {
  const parsed = WidgetDefinition.safeParse({ type, config });
  if (parsed.success) return parsed.data;
  const errors = fieldErrors(parsed.error.issues, 'body');
  throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
}

/** What the widgets table holds of a definition: the form in its column, the rest as the jsonb. */
export function storedConfig(definition: WidgetDefinition): { formId: string; config: Record<string, unknown> } {
  const { formId, ...config } = definition.config;
  return { formId, config };
}

/** The config the public route serves: everything the tenant wrote but the form, shown on its own. */
export const PublicSignupFormConfig = z.object(SIGNUP_FORM_TEXTS);
export const PublicCounterConfig = z.object(COUNTER_TEXTS);

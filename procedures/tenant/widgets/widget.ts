/**
 * Widgets as the tenant routes show them, and the checks their writes share.
 *
 * - A widget's form is one of its own project: any other id (unknown, another project's, another
 *   organization's) is the same VALIDATION_ERROR on `config.formId`, which tells nothing about
 *   forms elsewhere.
 * - Every change is audited through the EntityManager of its transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import type { Widget } from '../../../entities/widget.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { iso, IsoDate } from '../../auth/schemas.js';
import { PublicCounterConfig, PublicSignupFormConfig, WidgetType } from '../../shared/widget-config.js';

export const WidgetFields = {
  name: z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  type: WidgetType,
  published: z.boolean(),
};

/** The form is null once it was deleted: the widget is kept, but no longer served. */
const FormOfWidget = z.string().nullable();

/** A widget of one type, its fields in the order they are shown. */
const widgetOf = <T extends z.ZodType, C extends z.ZodType>(type: T, config: C) =>
  z.object({
    id: z.string(),
    projectId: z.string(),
    name: z.string(),
    type,
    published: z.boolean(),
    config,
    publicUrl: z.string().describe('Where anyone fetches it: GET /api/public/widgets/{widgetId}'),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  });

export const WidgetOutput = z.discriminatedUnion('type', [
  widgetOf(z.literal('signup-form'), PublicSignupFormConfig.extend({ formId: FormOfWidget })),
  widgetOf(z.literal('counter'), PublicCounterConfig.extend({ formId: FormOfWidget })),
]);
export type WidgetOutput = z.output<typeof WidgetOutput>;

export function toWidgetOutput(widget: Widget, baseUrl: string): WidgetOutput {
  return {
    id: widget.id,
    projectId: widget.projectId,
    name: widget.name,
    type: widget.type,
    published: widget.published,
    config: { ...widget.config, formId: widget.formId },
    publicUrl: `${baseUrl.replace(/\/$/, '')}/api/public/widgets/${widget.id}`,
    createdAt: iso(widget.createdAt),
    updatedAt: iso(widget.updatedAt),
  } as WidgetOutput;
}

/** Refuses a form that is not one of the project's. */
export async function assertFormInProject(
  em: EntityManager,
  organizationId: string,
  projectId: string,
  formId: string,
): Promise<void> {
  if ((await em.count(FormSchema, { id: formId, organizationId, projectId })) > 0) return;
  const errors: FieldError[] = [
    { field: 'config.formId', error: 'No form with this id in this project', location: 'body' },
  ];
  throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
}

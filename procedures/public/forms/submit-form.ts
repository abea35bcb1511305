/**
 * POST /api/public/forms/{formId}/submissions: anyone may submit a published form of an active
 * project, as JSON or as an HTML form (application/x-www-form-urlencoded).
 *
 * - The PUBLIC_FORM budget, per client address (IPv6 by /64) and form, is spent before anything is
 *   looked up: an unknown id costs the same as a real one, so ids cannot be probed faster.
 * - An unknown or unpublished form is NOT_FOUND (the same answer); a published form of a draft or
 *   paused project is PROJECT_NOT_ACTIVE.
 * - A filled honeypot is answered 201 with a fresh id, like a success, and nothing is stored: the
 *   bot learns nothing. An empty one is dropped before validation.
 * - The body is judged by the schema built from the form's fields (procedures/shared/form-fields.ts):
 *   unknown and missing fields are refused by name, as VALIDATION_ERROR.
 * - The submission keeps the submitter's address and user agent (512 characters at most).
 */
import { z } from 'zod';
import type { FormField } from '../../../entities/form.js';
import { FormSubmissionSchema } from '../../../entities/form.js';
import { ApiError, fieldErrors, validationMessage } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { clientKey } from '../../../server/rate-limit.js';
import { preparedRows } from '../../../server/sql.js';
import { publicProcedure, spendBudgets } from '../../../server/trpc.js';
import { FormId, submissionSchema } from '../../shared/form-fields.js';

/** Enough to show what is wrong; a body of ten thousand unknown fields does not need them all named back. */
const MAX_NAMED_FIELDS = 20;

interface FormRow {
  organization_id: string;
  project_id: string;
  published: boolean;
  fields: FormField[];
  honeypot_field: string;
  project_status: string;
}

const FORM_SQL = `select f.organization_id, f.project_id, f.published, f.fields, f.honeypot_field, p.status as project_status
  from forms f join projects p on p.id = f.project_id where f.id = $1`;

/** Whether a bot filled the honeypot: anything but an absent, null, false or blank value. */
const filled = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== false && !(typeof value === 'string' && value.trim() === '');

export const submitForm = publicProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/public/forms/{formId}/submissions',
      tags: ['public'],
      summary: 'Submit a public form',
      description:
        "The body holds the form's fields by name, as JSON or as an HTML form (application/x-www-form-urlencoded); " +
        'unknown fields are refused. Numbers may be numeric strings; a checkbox is true, false or "on".',
    },
    message: 'Submission received',
    status: 201,
    form: true,
    errors: ['NOT_FOUND', 'PROJECT_NOT_ACTIVE'],
  })
  // The fields depend on the form: they are judged in the logic, once the form is loaded.
  .input(z.looseObject({ formId: FormId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input: { formId, ...body } }) => {
    await spendBudgets(ctx, [['publicForm', `${clientKey(ctx.ip)}:${formId}`]]);
    const [form] = await preparedRows<FormRow>(ctx.em, 'public_form_by_id', FORM_SQL, [formId]);
    if (!form?.published) throw new ApiError('NOT_FOUND', 'No published form with this id');
    if (form.project_status !== 'active') {
      throw new ApiError('PROJECT_NOT_ACTIVE', "This form's project is not active: it takes no submissions");
    }
    const { [form.honeypot_field]: honeypot, ...values } = body;
    if (filled(honeypot)) return { id: newId() };
    const parsed = submissionSchema(form.fields).safeParse(values);
    if (!parsed.success) {
      const errors = fieldErrors(parsed.error.issues, 'body').slice(0, MAX_NAMED_FIELDS);
      throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
    }
    const submission = ctx.em.create(FormSubmissionSchema, {
      id: newId(),
      organizationId: form.organization_id,
      projectId: form.project_id,
      formId,
      data: parsed.data,
      ip: ctx.ip.slice(0, 45),
      userAgent: ctx.userAgent ? ctx.userAgent.slice(0, 512) : null,
      createdAt: ctx.services.now(),
    });
    // A flush is a transaction: an Idempotency-Key is marked in it (adapters/rest/idempotency.ts).
    await ctx.em.persist(submission).flush();
    return { id: submission.id };
  });

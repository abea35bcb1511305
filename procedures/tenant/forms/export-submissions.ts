/**
 * GET …/forms/{formId}/submissions/export: a form's (filtered) submissions as CSV or JSON lines,
 * streamed newest first in keyset-paged batches (procedures/shared/export.ts). CSV has the columns
 * id, createdAt, ip, userAgent, then one per field of the form as it is now (values of fields since
 * removed are only in the JSON lines); cells are guarded against formulas (procedures/shared/csv.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { FormSchema, type Form } from '../../../entities/form.js';
import { findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { csvLine } from '../../shared/csv.js';
import { newestFirst, StreamedFileOutput } from '../../shared/export.js';
import { ProjectId } from '../projects/project.js';
import { FormId } from './form.js';
import {
  fromNotAfterTo,
  SUBMISSION_COLUMNS,
  SubmissionFilters,
  submissionOutput,
  submissionWhere,
  type SubmissionRow,
} from './submission.js';

const FIXED_COLUMNS = ['id', 'createdAt', 'ip', 'userAgent'];

async function* exportLines(
  em: EntityManager,
  form: Form,
  filters: z.output<typeof SubmissionFilters>,
  format: 'csv' | 'ndjson',
): AsyncGenerator<string> {
  const fieldNames = form.fields.map((field) => field.name);
  if (format === 'csv') yield csvLine([...FIXED_COLUMNS, ...fieldNames]);
  const where = submissionWhere(form.organizationId, form.id, filters);
  const rows = newestFirst<SubmissionRow>(em, {
    columns: SUBMISSION_COLUMNS,
    from: 'from form_submissions s',
    where: where.sql,
    params: where.params,
    alias: 's',
  });
  for await (const row of rows) {
    const submission = submissionOutput(row);
    yield format === 'csv'
      ? csvLine([
          submission.id,
          submission.createdAt,
          submission.ip,
          submission.userAgent,
          ...fieldNames.map((name) => submission.data[name]),
        ])
      : `${JSON.stringify(submission)}\n`;
  }
}

export const exportSubmissions = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}/submissions/export',
      tags: ['forms'],
      summary: "Export a form's submissions (CSV or JSON lines)",
    },
    message: 'Submissions exported',
    scopes: ['projects:read'],
    permission: 'organization:read',
    stream: ['text/csv', 'application/x-ndjson'],
  })
  .input(
    SubmissionFilters.extend({
      organizationId: z.string(),
      projectId: ProjectId,
      formId: FormId,
      format: z.enum(['csv', 'ndjson']).default('csv'),
    }).superRefine(fromNotAfterTo),
  )
  .output(StreamedFileOutput)
  .query(async ({ ctx, input }) => {
    const form = await findInProject(ctx.em, FormSchema, input.formId, ctx.organization.id, input.projectId, 'form');
    const stamp = ctx.services.now().toISOString().slice(0, 10);
    return {
      filename: `form-${form.id}-submissions-${stamp}.${input.format}`,
      contentType: input.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      lines: exportLines(ctx.em, form, input, input.format),
    };
  });

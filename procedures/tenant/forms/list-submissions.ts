import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { ProjectId } from '../projects/project.js';
import { FormId } from './form.js';
import {
  fromNotAfterTo,
  SUBMISSION_COLUMNS,
  SubmissionFilters,
  SubmissionOutput,
  submissionOutput,
  submissionWhere,
  type SubmissionRow,
} from './submission.js';

/** GET /api/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}/submissions: newest first. */
export const listSubmissions = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}/submissions',
      tags: ['forms'],
      summary: 'What was submitted to a form',
    },
    message: 'Items fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend(SubmissionFilters.shape)
      .extend({ organizationId: z.string(), projectId: ProjectId, formId: FormId })
      .superRefine(fromNotAfterTo),
  )
  .output(pageOf(SubmissionOutput))
  .query(async ({ ctx, input }) => {
    const form = await findInProject(ctx.em, FormSchema, input.formId, ctx.organization.id, input.projectId, 'form');
    const where = submissionWhere(form.organizationId, form.id, input);
    const { rows, total } = await pageOfRows<SubmissionRow>(
      ctx.em,
      {
        columns: SUBMISSION_COLUMNS,
        from: `from form_submissions s where ${where.sql}`,
        orderBy: 's.created_at desc, s.id desc',
        params: where.params,
      },
      input,
    );
    return toPage(rows.map(submissionOutput), total, input);
  });

/** Submissions as tenant routes show them, and the filters the list and the export share. */
import { z } from 'zod';
import { IsoDate } from '../../auth/schemas.js';

export const SubmissionOutput = z.object({
  id: z.string(),
  data: z
    .record(z.string(), z.unknown())
    .describe("The submitted values by field name, as the form's fields were then"),
  ip: z.string(),
  userAgent: z.string().nullable(),
  createdAt: IsoDate,
});
export type SubmissionOutput = z.output<typeof SubmissionOutput>;

/** `from` (inclusive) and `to` (exclusive), ISO 8601 with an offset; `from` may not come after `to`. */
export const SubmissionFilters = z.object({
  from: z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date and time' }).optional(),
  to: z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date and time' }).optional(),
});

/** Refuses `from` later than `to`, on an input that carries both filters. */
export function fromNotAfterTo(input: z.output<typeof SubmissionFilters>, ctx: z.RefinementCtx): void {
  if (input.from && input.to && Date.parse(input.from) > Date.parse(input.to))
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'Must not be before from' });
}

export interface SubmissionRow {
  id: string;
  data: Record<string, unknown>;
  ip: string;
  user_agent: string | null;
  created_at: Date | string;
}

export const SUBMISSION_COLUMNS = 's.id, s.data, s.ip, s.user_agent, s.created_at';

/** The WHERE clause of a form's submissions: always this form of this organization, then the filters. */
export function submissionWhere(
  organizationId: string,
  formId: string,
  filters: z.output<typeof SubmissionFilters>,
): { sql: string; params: unknown[] } {
  const where = ['s.organization_id = ?', 's.form_id = ?'];
  const params: unknown[] = [organizationId, formId];
  if (filters.from) {
    where.push('s.created_at >= ?');
    params.push(new Date(filters.from));
  }
  if (filters.to) {
    where.push('s.created_at < ?');
    params.push(new Date(filters.to));
  }
  return { sql: where.join(' and '), params };
}

export function submissionOutput(row: SubmissionRow): SubmissionOutput {
  return {
    id: row.id,
    data: row.data,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * GET /api/public/widgets/{widgetId}: a widget as anyone may see it, for embedding on any site.
 *
 * - Served only while the widget is published, its project active and its form still there (and, for
 *   a sign-up form, published: nobody could submit it otherwise). Anything else, a malformed id
 *   included, is the same NOT_FOUND with the same message: nobody learns that an unpublished widget
 *   exists.
 * - One prepared statement reads only what the answer shows; a counter's count rides along in it.
 * - REST answers it with an ETag and `Cache-Control: public, max-age=60` (meta.cache), and 304 when
 *   If-None-Match matches; CORS lets any origin read it (server/cors.ts).
 */
import { z } from 'zod';
import type { FormField } from '../../../entities/form.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { preparedRows } from '../../../server/sql.js';
import { publicProcedure } from '../../../server/trpc.js';
import { FormFieldOutput, submitUrl } from '../../shared/form-fields.js';
import { PublicCounterConfig, PublicSignupFormConfig } from '../../shared/widget-config.js';

const PublicWidget = z.discriminatedUnion('type', [
  z.object({
    id: z.string(),
    type: z.literal('signup-form'),
    config: PublicSignupFormConfig,
    form: z.object({
      id: z.string(),
      fields: z.array(FormFieldOutput),
      honeypotField: z.string().describe('Render it hidden from people; a submission that fills it is dropped'),
      submitUrl: z.string().describe('POST the submission here as JSON'),
    }),
  }),
  z.object({
    id: z.string(),
    type: z.literal('counter'),
    config: PublicCounterConfig,
    count: z.number().int().describe('Submissions of the counted form so far'),
  }),
]);
type PublicWidget = z.output<typeof PublicWidget>;

interface Row {
  id: string;
  type: PublicWidget['type'];
  config: Record<string, unknown>;
  form_id: string;
  fields: FormField[] | null;
  honeypot_field: string | null;
  submissions: string | null;
}

const WIDGET_SQL = `select w.id, w.type, w.config, w.form_id,
         case when w.type = 'signup-form' then f.fields end as fields,
         case when w.type = 'signup-form' then f.honeypot_field end as honeypot_field,
         case when w.type = 'counter' then (select count(*) from form_submissions s where s.form_id = w.form_id) end
           as submissions
    from widgets w
    join projects p on p.id = w.project_id
    join forms f on f.id = w.form_id
   where w.id = $1 and w.published and p.status = 'active' and (w.type <> 'signup-form' or f.published)`;

const NOT_FOUND_MESSAGE = 'No published widget with this id';

export const getPublicWidget = publicProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/public/widgets/{widgetId}',
      tags: ['public'],
      summary: 'A published widget',
      description:
        'No credential; any origin may read it (CORS `*`). Cached for 60 s (`Cache-Control: public, max-age=60`) with an ETag: ' +
        'send it back in If-None-Match to get 304 Not Modified without a body.',
    },
    message: 'Widget fetched successfully',
    cache: { maxAge: 60 },
  })
  .input(z.object({ widgetId: z.string() }))
  .output(PublicWidget)
  .query(async ({ ctx, input }): Promise<PublicWidget> => {
    if (!ULID_PATTERN.test(input.widgetId)) throw new ApiError('NOT_FOUND', NOT_FOUND_MESSAGE);
    const [row] = await preparedRows<Row>(ctx.em, 'public_widget_by_id', WIDGET_SQL, [input.widgetId]);
    if (!row) throw new ApiError('NOT_FOUND', NOT_FOUND_MESSAGE);
    if (row.type === 'counter') {
      return {
        id: row.id,
        type: row.type,
        config: { label: row.config.label as string },
        count: Number(row.submissions),
      };
    }
    return {
      id: row.id,
      type: row.type,
      config: row.config,
      form: {
        id: row.form_id,
        fields: (row.fields ?? []).map(({ name, label, type, required, maxLength, options }) => ({
          name,
          label,
          type,
          required,
          maxLength,
          options,
        })),
        honeypotField: row.honeypot_field ?? '',
        submitUrl: submitUrl(ctx.services.config.baseUrl, row.form_id),
      },
    };
  });

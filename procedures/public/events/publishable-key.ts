/**
 * Who may track: the project a publishable key (X-Publishable-Key) names.
 * - No key: 401 AUTHENTICATION_REQUIRED. Not the shape projects mint (`pk_` and 32 base64url
 *   characters): 401 INVALID_API_KEY, before any budget or lookup, so garbage spends nothing.
 * - The key's PUBLIC_TRACK budget is spent (1 point a request, whatever its size) before the lookup,
 *   so a spent key costs the database nothing.
 * - An unknown key (a deleted project's looks the same) or a draft or paused project: 403
 *   PROJECT_NOT_ACTIVE. The lookup is one probe of the unique index, prepared, and not cached, so that
 *   pausing a project stops its tracking at once.
 * - A browser call (an Origin header) from an origin the project does not allow: 403 FORBIDDEN with
 *   `meta.reason: 'origin-not-allowed'`. No allowed origins, or no Origin (a server), passes.
 */
import type { Context } from '../../../server/context.js';
import { preparedRows } from '../../../server/sql.js';
import { refuse, spendBudgets } from '../../../server/trpc.js';

export const PUBLISHABLE_KEY_PATTERN = /^pk_[A-Za-z0-9_-]{32}$/;

export interface TrackingProject {
  id: string;
  organizationId: string;
}

interface Row {
  id: string;
  organization_id: string;
  status: string;
  allowed_origins: string[];
}

export async function trackingProject(ctx: Context): Promise<TrackingProject> {
  const key = ctx.publishableKey;
  if (!key) throw refuse('AUTHENTICATION_REQUIRED', 'Send your project’s publishable key in X-Publishable-Key');
  if (!PUBLISHABLE_KEY_PATTERN.test(key)) {
    throw refuse('INVALID_API_KEY', 'X-Publishable-Key is not a publishable key (pk_ and 32 characters)');
  }
  await spendBudgets(ctx, [['publicTrack', key]]);
  const [project] = await preparedRows<Row>(
    ctx.em,
    'tracking_project',
    'select id, organization_id, status, allowed_origins from projects where publishable_key = $1',
    [key],
  );
  if (project?.status !== 'active') {
    throw refuse('PROJECT_NOT_ACTIVE', 'This publishable key does not belong to an active project');
  }
  const origin = ctx.origin;
  if (origin !== undefined && project.allowed_origins.length > 0 && !project.allowed_origins.includes(origin)) {
    throw refuse('FORBIDDEN', `This project does not accept events from ${origin}`, { reason: 'origin-not-allowed' });
  }
  return { id: project.id, organizationId: project.organization_id };
}

/**
 * Who may track: the project a publishable key (X-Publishable-Key) names.
 * - No key, or not the shape projects mint (`pk_` and 32 base64url characters): 401 INVALID_API_KEY
 *   (`meta.header: 'X-Publishable-Key'`), before any budget or lookup, so that garbage spends nothing.
 *   Not AUTHENTICATION_REQUIRED: that code asks for a user's credential (a session, a token), which
 *   this route neither needs nor reads.
 * - The key's PUBLIC_TRACK budget is spent (1 point a request, whatever its size) before the project
 *   is looked up, so that a spent key costs the database nothing.
 * - The project itself is found by the statement that stores the batch (store-events.ts): an unknown
 *   key (a deleted project's looks the same) or a draft or paused project is 403 PROJECT_NOT_ACTIVE,
 *   a browser call from an origin the project does not allow 403 FORBIDDEN (`meta.reason:
 *   'origin-not-allowed'`), and nothing is stored. Nothing is cached: pausing a project stops its
 *   tracking at once.
 */
import type { Context } from '../../../server/context.js';
import { refuse, spendBudgets } from '../../../server/trpc.js';

const HEADER = { header: 'X-Publishable-Key' };

export const PUBLISHABLE_KEY_PATTERN = /^pk_[A-Za-z0-9_-]{32}$/;

/** The request's well-formed publishable key, its budget spent. */
export async function publishableKey(ctx: Context): Promise<string> {
  const key = ctx.publishableKey;
  if (!key) {
    throw refuse('INVALID_API_KEY', 'Send your project’s publishable key (pk_…) in X-Publishable-Key', HEADER);
  }
  if (!PUBLISHABLE_KEY_PATTERN.test(key)) {
    throw refuse('INVALID_API_KEY', 'X-Publishable-Key is not a publishable key (pk_ and 32 characters)', HEADER);
  }
  await spendBudgets(ctx, [['publicTrack', key]]);
  return key;
}

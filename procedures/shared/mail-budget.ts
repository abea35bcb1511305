/**
 * Every mail sent on someone's behalf spends a budget before it is sent (API.md section 8), so that
 * the service cannot be used to flood an inbox or to relay spam.
 *
 * - Account mail (password reset, verification, email change, magic link): 5 an hour per client IP, and 5 an
 *   hour per target address and kind of mail. Keyed per kind, so that whoever floods an address with
 *   verification mail does not use up the owner's password resets, and whoever floods it with resets
 *   has at least delivered working reset links to the owner (the newest one stays valid).
 * - Invitations: 5 an hour per invited address and ORGANIZATION_EMAIL per organization; they spend
 *   no per-IP budget, so an admin inviting a team is limited by the organization's allowance only.
 * - A refusal is 429 with Retry-After, decided before any lookup, so it reveals nothing about accounts.
 */
import type { Context } from '../../server/context.js';
import type { BudgetName } from '../../server/config.js';
import { clientKey } from '../../server/rate-limit.js';
import { spendBudgets } from '../../server/trpc.js';

export type MailKind = 'reset-password' | 'verify-email' | 'change-email' | 'magic-link' | 'invite';

/** Spends the budgets of one mail of `kind` to `to`; throws RATE_LIMIT_ERROR when one is spent. */
export async function spendMailBudget(
  ctx: Context,
  kind: MailKind,
  to: string,
  organizationId?: string,
): Promise<void> {
  const spends: [BudgetName, string][] =
    kind === 'invite'
      ? [
          ['emailSend', `invite:${to}`],
          ['organizationEmail', organizationId ?? 'none'],
        ]
      : [
          ['emailSend', `ip:${clientKey(ctx.ip)}`],
          ['emailSend', `${kind}:${to}`],
        ];
  await spendBudgets(ctx, spends);
}

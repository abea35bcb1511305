/**
 * What the invitation procedures share: the output shape, the status a reader sees, token issuing
 * and the invitation email.
 *
 * - The token exists only in the email; the row keeps its SHA-256, and no output carries either.
 * - An invitation lives 7 days; "expired" is derived (pending past expiresAt), never stored, so the
 *   partial unique index on pending rows keeps meaning "one live invitation per address".
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Invite } from '../../../entities/invite.js';
import { UserSchema } from '../../../entities/user.js';
import type { Context } from '../../../server/context.js';
import { randomToken, sha256Hex } from '../../../server/crypto.js';
import { ROLES } from '../../../server/scopes.js';
import { iso, IsoDate, isoOrNull } from '../../auth/schemas.js';
import { inviteMail } from './emails.js';

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export const InviteRole = z.enum(ROLES, 'Must be one of owner, admin, member');
export const INVITE_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InviteView = (typeof INVITE_STATUSES)[number];

export const InviterOutput = z.object({ id: z.string(), fullName: z.string() }).nullable();
export type Inviter = z.output<typeof InviterOutput>;

export const InviteOutput = z.object({
  id: z.string(),
  email: z.string(),
  role: InviteRole,
  status: z.enum(INVITE_STATUSES),
  invitedBy: InviterOutput,
  expiresAt: IsoDate,
  createdAt: IsoDate,
  acceptedAt: IsoDate.nullable(),
});

export function inviteStatus(invite: Pick<Invite, 'status' | 'expiresAt'>, now: Date): InviteView {
  return invite.status === 'pending' && invite.expiresAt <= now ? 'expired' : invite.status;
}

export function toInviteOutput(invite: Invite, inviter: Inviter, now: Date): z.output<typeof InviteOutput> {
  return {
    id: invite.id,
    email: invite.email,
    role: invite.role,
    status: inviteStatus(invite, now),
    invitedBy: inviter,
    expiresAt: iso(invite.expiresAt),
    createdAt: iso(invite.createdAt),
    acceptedAt: isoOrNull(invite.acceptedAt),
  };
}

/** `{id, fullName}` of each inviter still on record (a deleted inviter leaves null). */
export async function invitersById(
  em: EntityManager,
  ids: (string | null)[],
): Promise<Map<string, NonNullable<Inviter>>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const users = await em.find(UserSchema, { id: { $in: wanted } }, { fields: ['id', 'fullName'] });
  return new Map(users.map((u) => [u.id, { id: u.id, fullName: u.fullName }]));
}

/** A fresh token, the hash to store and the expiry it carries. */
export function issueInviteToken(now: Date): { token: string; tokenHash: string; expiresAt: Date } {
  const token = randomToken();
  return { token, tokenHash: sha256Hex(token), expiresAt: new Date(now.getTime() + INVITE_TTL_MS) };
}

/** Emails the invitee after the transaction committed; delivery never shows in the response. */
export function sendInvite(
  ctx: Pick<Context, 'services'>,
  invite: Pick<Invite, 'email' | 'role' | 'expiresAt'>,
  token: string,
  organizationName: string,
  inviterName: string | null,
): void {
  ctx.services.mailer.sendInBackground(
    inviteMail(ctx.services.config.appUrl, {
      to: invite.email,
      token,
      organizationName,
      inviterName,
      role: invite.role,
      expiresAt: invite.expiresAt,
    }),
  );
}

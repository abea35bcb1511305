/**
 * Tenancy, in one place.
 *
 * - Membership is read once per request (one prepared statement) by the tenant procedure; a
 *   non-member and a missing organization get the same FORBIDDEN.
 * - The same read carries the organization's MFA policy and whether the member has a second factor
 *   (a confirmed TOTP or a passkey), so the policy costs no extra round trip. Whoever changes either
 *   drops the cached memberships: the policy's owner those of the organization, the two-factor and
 *   passkey routes those of the user.
 * - It carries the SSO-required policy as it applies to the member too: the connection, if any, that
 *   is `required` and serves a domain the organization verified which is the domain of the member's
 *   email. The SSO settings and domain verification drop the organization's cached memberships; an
 *   email change drops the user's.
 * - Every lookup of a tenant resource is scoped to the organization in the path; an id that exists in
 *   another organization is TENANT_VIOLATION and never its data, an id that exists nowhere NOT_FOUND.
 * - Audit entries are written through the caller's EntityManager, so they commit or roll back with
 *   the change they record.
 */
import type { EntityManager, EntitySchema } from '@mikro-orm/postgresql';
import { AuditLogSchema } from '../entities/audit-log.js';
import { ProjectSchema } from '../entities/project.js';
import { membershipCacheKey, type CredentialCache } from './auth/credential-cache.js';
import type { Principal } from './auth/credentials.js';
import { ApiError } from './errors.js';
import { newId } from './ids.js';
import type { Permission, Role } from './scopes.js';
import { emailDomainSql, hasSecondFactorSql, preparedRows } from './sql.js';

/**
 * One read for the membership, the organization, and its MFA and SSO-required policies as they apply
 * to the member (the SSO lookup rides on the (organization, domain) unique index).
 */
const MEMBERSHIP_SQL = `select m.id as member_id, m.role, m.created_at as joined_at, o.id as organization_id, o.name, o.slug,
              o.mfa_required, o.mfa_grace_period_days, o.mfa_required_since,
              ${hasSecondFactorSql('m.user_id')} as has_second_factor,
              (select d.connection_id from sso_domains d join sso_connections c on c.id = d.connection_id
                where d.organization_id = m.organization_id and d.verified_at is not null and c.required
                  and d.domain = ${emailDomainSql('u.email')}) as sso_connection_id
         from members m join organizations o on o.id = m.organization_id join users u on u.id = m.user_id
        where m.organization_id = $1 and m.user_id = $2`;

export interface Membership {
  id: string;
  role: Role;
  permissions: readonly Permission[];
  joinedAt: Date;
  mfa: MfaStatus;
  /** The SSO connection this member must have signed in through, or null when the policy spares them. */
  ssoConnectionId: string | null;
}

/** The organization's MFA policy as it applies to one member. */
export interface MfaStatus {
  required: boolean;
  /** A confirmed TOTP or at least one passkey. */
  compliant: boolean;
  /** When the member must comply: max(required since, joined) + the grace period; null when not required. */
  deadline: Date | null;
}

const DAY_MS = 86_400_000;

/** When a member must comply with a policy in force since `requiredSince`, having joined at `joinedAt`. */
export function mfaDeadline(
  policy: { required: boolean; requiredSince: Date | null; gracePeriodDays: number },
  joinedAt: Date,
): Date | null {
  if (!policy.required) return null;
  const since = Math.max(policy.requiredSince?.getTime() ?? 0, joinedAt.getTime());
  return new Date(since + policy.gracePeriodDays * DAY_MS);
}

/** Where a member shut out by the policy sets up a second factor (MFA_REQUIRED's meta, my-membership). */
export const MFA_SETUP = {
  enable: '/api/auth/two-factor/enable',
  passkey: '/api/auth/passkey/register/options',
} as const;

/** Whether the policy now shuts the member out: required, no second factor, and the deadline passed. */
export function mfaBlocks(mfa: MfaStatus, now: Date): boolean {
  return mfa.required && !mfa.compliant && mfa.deadline !== null && now.getTime() >= mfa.deadline.getTime();
}

/**
 * The connection a principal must sign in through, when the organization's SSO-required policy shuts
 * it out: the member's address is on a domain a required connection serves, and the credential was
 * not signed in (or minted by a session signed in) through this organization's SSO. OAuth bearer
 * tokens carry no SSO sign-in, so they are shut out. Null when the policy lets it through.
 */
export function ssoRequiredConnection(
  ssoConnectionId: string | null,
  principal: Pick<Principal, 'ssoOrganizationId'>,
  organizationId: string,
): string | null {
  return ssoConnectionId !== null && principal.ssoOrganizationId !== organizationId ? ssoConnectionId : null;
}

export interface OrganizationRef {
  id: string;
  name: string;
  slug: string;
}

interface MembershipRow {
  member_id: string;
  role: Role;
  joined_at: string;
  organization_id: string;
  name: string;
  slug: string;
  mfa_required: boolean;
  mfa_grace_period_days: number;
  mfa_required_since: string | null;
  has_second_factor: boolean;
  sso_connection_id: string | null;
}

interface CachedMembership {
  organization: OrganizationRef;
  role: Role;
  memberId: string;
  joinedAt: number;
  /** Absent in entries cached before the policy existed (they expire within the cache's TTL). */
  mfa?: { required: boolean; compliant: boolean; deadline: number | null };
  /** Absent in entries cached before the SSO policy existed (they expire within the cache's TTL). */
  ssoConnectionId?: string | null;
}

export interface LoadedMembership {
  organization: OrganizationRef;
  role: Role;
  memberId: string;
  joinedAt: Date;
  mfa: MfaStatus;
  ssoConnectionId: string | null;
}

/**
 * The caller's membership and the organization's MFA and SSO policies as it applies to them (from the credential
 * cache when it is there); only memberships are cached, never their absence.
 */
export async function loadMembership(
  em: EntityManager,
  cache: CredentialCache,
  organizationId: string,
  userId: string,
): Promise<LoadedMembership | undefined> {
  const cached = await cache.getOrLoad(membershipCacheKey(organizationId, userId), async () => {
    const [row] = await preparedRows<MembershipRow>(em, 'membership_policies_by_organization_user', MEMBERSHIP_SQL, [
      organizationId,
      userId,
    ]);
    if (!row) return undefined;
    const joinedAt = new Date(row.joined_at);
    const deadline = mfaDeadline(
      {
        required: row.mfa_required,
        requiredSince: row.mfa_required_since === null ? null : new Date(row.mfa_required_since),
        gracePeriodDays: row.mfa_grace_period_days,
      },
      joinedAt,
    );
    return {
      organization: { id: row.organization_id, name: row.name, slug: row.slug },
      role: row.role,
      memberId: row.member_id,
      joinedAt: joinedAt.getTime(),
      mfa: { required: row.mfa_required, compliant: row.has_second_factor, deadline: deadline?.getTime() ?? null },
      ssoConnectionId: row.sso_connection_id,
    } satisfies CachedMembership;
  });
  if (!cached) return undefined;
  const mfa = cached.mfa ?? { required: false, compliant: false, deadline: null };
  return {
    ...cached,
    joinedAt: new Date(cached.joinedAt),
    mfa: { ...mfa, deadline: mfa.deadline === null ? null : new Date(mfa.deadline) },
    ssoConnectionId: cached.ssoConnectionId ?? null,
  };
}

/**
 * The cache keys of an organization's memberships and of the API keys pinned to it: what to drop
 * when it is renamed or deleted (pinned keys die with it).
 */
export async function organizationCacheKeys(em: EntityManager, organizationId: string): Promise<string[]> {
  const rows = await em.getConnection().execute<{ key: string }[]>(
    `select 'member:' || organization_id || ':' || user_id as key from members where organization_id = ?
     union all select key_hash from api_keys where organization_id = ?
     union all select previous_key_hash from api_keys where organization_id = ? and previous_key_hash is not null`,
    [organizationId, organizationId, organizationId],
    'all',
    em.getTransactionContext(),
  );
  return rows.map((r) => r.key);
}

/**
 * The row `id` of `schema` inside `organizationId`. Another organization's id is TENANT_VIOLATION;
 * an unknown id NOT_FOUND.
 */
export async function findInOrganization<T extends { id: string; organizationId: string }>(
  em: EntityManager,
  schema: EntitySchema<T>,
  id: string,
  organizationId: string,
  label: string,
): Promise<T> {
  const found = await em.findOne(schema, { id, organizationId } as never);
  if (found) return found as T;
  if (await em.count(schema, { id } as never)) {
    throw new ApiError('TENANT_VIOLATION', `This ${label} belongs to another organization`);
  }
  throw new ApiError('NOT_FOUND', `No ${label} with this id in this organization`);
}

/**
 * A resource of one project (a form, a widget) by id: another organization's is TENANT_VIOLATION,
 * whether the resource or the project in the path is; one of another project of the same organization,
 * or of none, is NOT_FOUND.
 */
export async function findInProject<T extends { id: string; organizationId: string; projectId: string }>(
  em: EntityManager,
  schema: EntitySchema<T>,
  id: string,
  organizationId: string,
  projectId: string,
  label: string,
): Promise<T> {
  const found = await em.findOne(schema, { id, organizationId, projectId } as never);
  if (found) return found as T;
  await findInOrganization(em, ProjectSchema, projectId, organizationId, 'project');
  await findInOrganization(em, schema, id, organizationId, label);
  throw new ApiError('NOT_FOUND', `No ${label} with this id in this project`);
}

export interface AuditContext {
  organizationId: string;
  /** Who acted, and with what: a credential's kind, or `emailed-link` for a password reset's token. */
  principal: { userId: string; kind: Principal['kind'] | 'emailed-link' };
  ip: string;
  userAgent: string;
}

/** A change no user made: a provider's signed callback (Stripe's webhook) acted. */
export interface ProviderAuditContext {
  organizationId: string;
  principal: { userId: null; kind: 'stripe' };
  ip: string;
  userAgent: string;
}

/** Records a change; persisted with the caller's next flush, inside its transaction. */
export function audit(
  em: EntityManager,
  ctx: AuditContext | ProviderAuditContext,
  entry: { action: string; targetType: string; targetId?: string | null; metadata?: Record<string, unknown> },
  now: Date,
): void {
  em.persist(
    em.create(AuditLogSchema, {
      id: newId(),
      organizationId: ctx.organizationId,
      actorUserId: ctx.principal.userId,
      actorType: ctx.principal.kind,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      metadata: entry.metadata ?? {},
      ip: ctx.ip.slice(0, 64),
      userAgent: ctx.userAgent.slice(0, 512),
      createdAt: now,
    }),
  );
}

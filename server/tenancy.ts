/**
 * Tenancy, in one place.
 *
 * - Membership is read once per request (one prepared statement) by the tenant procedure; a
 *   non-member and a missing organization get the same FORBIDDEN.
 * - Every lookup of a tenant resource is scoped to the organization in the path; an id that exists in
 *   another organization is TENANT_VIOLATION and never its data, an id that exists nowhere NOT_FOUND.
 * - Audit entries are written through the caller's EntityManager, so they commit or roll back with
 *   the change they record.
 */
import type { EntityManager, EntitySchema } from '@mikro-orm/postgresql';
import { AuditLogSchema } from '../entities/audit-log.js';
import { membershipCacheKey, type CredentialCache } from './auth/credential-cache.js';
import type { Principal } from './auth/credentials.js';
import { ApiError } from './errors.js';
import { newId } from './ids.js';
import type { Permission, Role } from './scopes.js';
import { preparedRows } from './sql.js';

export interface Membership {
  id: string;
  role: Role;
  permissions: readonly Permission[];
  joinedAt: Date;
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
}

interface CachedMembership {
  organization: OrganizationRef;
  role: Role;
  memberId: string;
  joinedAt: number;
}

/** The caller's membership (from the credential cache when it is there); only memberships are cached, never their absence. */
export async function loadMembership(
  em: EntityManager,
  cache: CredentialCache,
  organizationId: string,
  userId: string,
): Promise<{ organization: OrganizationRef; role: Role; memberId: string; joinedAt: Date } | undefined> {
  const cached = await cache.getOrLoad(membershipCacheKey(organizationId, userId), async () => {
    const [row] = await preparedRows<MembershipRow>(
      em,
      'membership_by_organization_user',
      `select m.id as member_id, m.role, m.created_at as joined_at, o.id as organization_id, o.name, o.slug
         from members m join organizations o on o.id = m.organization_id
        where m.organization_id = $1 and m.user_id = $2`,
      [organizationId, userId],
    );
    if (!row) return undefined;
    return {
      organization: { id: row.organization_id, name: row.name, slug: row.slug },
      role: row.role,
      memberId: row.member_id,
      joinedAt: new Date(row.joined_at).getTime(),
    } satisfies CachedMembership;
  });
  return cached && { ...cached, joinedAt: new Date(cached.joinedAt) };
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

export interface AuditContext {
  organizationId: string;
  /** Who acted, and with what: a credential's kind, or `emailed-link` for a password reset's token. */
  principal: { userId: string; kind: Principal['kind'] | 'emailed-link' };
  ip: string;
  userAgent: string;
}

/** Records a change; persisted with the caller's next flush, inside its transaction. */
export function audit(
  em: EntityManager,
  ctx: AuditContext,
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

/** The organization as routes show it, and its slug rules. */
import { z } from 'zod';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  DEFAULT_SETTINGS,
  MemberSchema,
  OrganizationSchema,
  type Organization,
} from '../../../entities/organization.js';
import type { Principal } from '../../../server/auth/credentials.js';
import { newId } from '../../../server/ids.js';
import { audit } from '../../../server/tenancy.js';
import { iso, IsoDate } from '../../auth/schemas.js';
import { randomToken } from '../../../server/crypto.js';
import { slugify } from '../../shared/slug.js';

export const Slug = z
  .string()
  .trim()
  .min(2, 'Must be 2 to 64 characters')
  .max(64, 'Must be 2 to 64 characters')
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and single hyphens');

export const OrganizationName = z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters');

export const OrganizationOutput = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});

export function organizationOutput(organization: Organization): z.output<typeof OrganizationOutput> {
  return {
    id: organization.id,
    name: organization.name,
    slug: organization.slug,
    createdAt: iso(organization.createdAt),
    updatedAt: iso(organization.updatedAt),
  };
}

/**
 * A new organization owned by `owner`, with its `organization.created` audit entry; persisted by the
 * caller's next flush, inside its transaction.
 */
export function createOwnedOrganization(
  em: EntityManager,
  input: {
    name: string;
    slug: string;
    owner: Pick<Principal, 'userId' | 'kind'>;
    ip: string;
    userAgent: string;
    now: Date;
  },
): Organization {
  const { now } = input;
  const organization = em.create(OrganizationSchema, {
    id: newId(),
    name: input.name,
    slug: input.slug,
    settings: { ...DEFAULT_SETTINGS },
    mfaRequired: false,
    mfaGracePeriodDays: 0,
    mfaRequiredSince: null,
    createdAt: now,
    updatedAt: now,
  });
  em.persist(organization);
  em.persist(
    em.create(MemberSchema, {
      id: newId(),
      organizationId: organization.id,
      userId: input.owner.userId,
      role: 'owner',
      createdAt: now,
    }),
  );
  audit(
    em,
    { organizationId: organization.id, principal: input.owner, ip: input.ip, userAgent: input.userAgent },
    {
      action: 'organization.created',
      targetType: 'organization',
      targetId: organization.id,
      metadata: { name: input.name, slug: input.slug },
    },
    now,
  );
  return organization;
}

/** A derived organization slug with a random suffix, since slugs are unique across all organizations. */
export function uniqueSlug(name: string): string {
  return `${slugFromName(name)}-${randomToken(4)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
}

/** A slug from a name, never shorter than the 2 characters a slug needs. */
export function slugFromName(name: string): string {
  const slug = slugify(name, 48);
  return slug.length >= 2 ? slug : `org-${slug}`.replace(/-$/, '');
}

/** The organization as routes show it, and its slug rules. */
import { z } from 'zod';
import type { Organization } from '../../../entities/organization.js';
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

/** A derived organization slug with a random suffix, since slugs are unique across all organizations. */
export function uniqueSlug(name: string): string {
  return `${slugFromName(name)}-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, '0')}`;
}

/** A slug from a name, never shorter than the 2 characters a slug needs. */
export function slugFromName(name: string): string {
  const slug = slugify(name, 48);
  return slug.length >= 2 ? slug : `org-${slug}`.replace(/-$/, '');
}

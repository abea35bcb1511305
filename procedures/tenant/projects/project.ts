/**
 * Projects as routes show them, their input rules, and the writes the procedures share.
 *
 * - A slug is unique within its organization: a clash is CONFLICT, whether seen by the pre-check or,
 *   in a race, by the database's unique constraint.
 * - Every change is audited through the EntityManager of its transaction.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { slugify } from '../../shared/slug.js';
import { z } from 'zod';
import { ProjectSchema, type Project } from '../../../entities/project.js';
import { UserSchema } from '../../../entities/user.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import type { AuditContext } from '../../../server/tenancy.js';
import { iso, IsoDate } from '../../auth/schemas.js';
import { AllowedOrigins } from '../../shared/origins.js';

export const PROJECT_STATUSES = ['draft', 'active', 'paused'] as const;

export const ProjectId = z.string().regex(ULID_PATTERN, 'Must be a project id');

export const ProjectSlug = z
  .string()
  .trim()
  .min(1, { error: 'Must be 1 to 64 characters', abort: true })
  .max(64, { error: 'Must be 1 to 64 characters', abort: true })
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and single hyphens');

/** The writable fields, shared by create (name required) and update (all optional). */
export const ProjectFields = {
  name: z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  slug: ProjectSlug,
  website: z
    .url({ protocol: /^https?$/, error: 'Must be an http or https URL' })
    .max(2048, 'Must be at most 2048 characters')
    .nullable(),
  description: z.string().max(2000, 'Must be at most 2000 characters').nullable(),
  status: z.enum(PROJECT_STATUSES),
  /** Origins browsers may call POST /public/track from with the project's key; empty: any. */
  allowedOrigins: AllowedOrigins,
};

export const ProjectOutput = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  website: z.string().nullable(),
  description: z.string().nullable(),
  status: z.enum(PROJECT_STATUSES),
  publishableKey: z.string(),
  allowedOrigins: z.array(z.string()),
  createdAt: IsoDate,
  updatedAt: IsoDate,
  createdByUser: z.object({ id: z.string(), fullName: z.string() }).nullable(),
});
export type ProjectOutput = z.output<typeof ProjectOutput>;

type Creator = { id: string; fullName: string };

/** The creators of `projects` in one query, by id; a deleted creator is simply absent. */
export async function loadCreators(em: EntityManager, projects: Project[]): Promise<Map<string, Creator>> {
  const ids = [...new Set(projects.map((p) => p.createdByUserId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const users = await em.find(UserSchema, { id: { $in: ids } }, { fields: ['id', 'fullName'] });
  return new Map(users.map((u) => [u.id, { id: u.id, fullName: u.fullName }]));
}

export function toProjectOutput(project: Project, creators: Map<string, Creator>): ProjectOutput {
  return {
    id: project.id,
    name: project.name,
    slug: project.slug,
    website: project.website,
    description: project.description,
    status: project.status,
    publishableKey: project.publishableKey,
    allowedOrigins: project.allowedOrigins,
    createdAt: iso(project.createdAt),
    updatedAt: iso(project.updatedAt),
    createdByUser: (project.createdByUserId && creators.get(project.createdByUserId)) || null,
  };
}

export async function projectOutput(em: EntityManager, project: Project): Promise<ProjectOutput> {
  return toProjectOutput(project, await loadCreators(em, [project]));
}

function slugTaken(slug: string): ApiError {
  return new ApiError('CONFLICT', `The slug "${slug}" is already used by another project in this organization`, {
    field: 'slug',
  });
}

/** Refuses a slug another project of the organization holds. */
export async function assertSlugFree(
  em: EntityManager,
  organizationId: string,
  slug: string,
  exceptId?: string,
): Promise<void> {
  const clash = await em.count(ProjectSchema, { organizationId, slug, ...(exceptId ? { id: { $ne: exceptId } } : {}) });
  if (clash > 0) throw slugTaken(slug);
}

/**
 * A free slug derived from the name: lowercase ASCII words joined by hyphens, with `-2`, `-3`, …
 * when taken, since the caller never chose it and a CONFLICT would be confusing.
 */
export async function slugFor(em: EntityManager, organizationId: string, name: string): Promise<string> {
  const base = slugify(name, 56) || 'project';
  const taken = await em.find(ProjectSchema, { organizationId, slug: { $like: `${base}%` } }, { fields: ['slug'] });
  const slugs = new Set(taken.map((p) => p.slug));
  let slug = base;
  for (let n = 2; slugs.has(slug); n++) slug = `${base}-${n}`;
  return slug;
}

/** Runs a write, turning a lost slug race (the unique constraint) into CONFLICT. */
export async function withSlugGuard<T>(slug: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (
      error instanceof UniqueConstraintViolationException &&
      (error as { constraint?: string }).constraint === 'projects_organization_slug_unique'
    ) {
      throw slugTaken(slug ?? '');
    }
    throw error;
  }
}

export function auditContext(ctx: {
  organization: { id: string };
  principal: AuditContext['principal'];
  ip: string;
  userAgent: string;
}): AuditContext {
  return { organizationId: ctx.organization.id, principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent };
}

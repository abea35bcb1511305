/** Fixtures for organizations and memberships, written straight to the database. */
import { MemberSchema } from '../../entities/organization.js';
import { newId } from '../../server/ids.js';
import type { Role } from '../../server/scopes.js';
import type { TestApp } from './app.js';

/** The organization a user got at sign-up. */
export async function defaultOrganizationId(t: TestApp, userId: string): Promise<string> {
  const member = await t.services.orm.em
    .fork()
    .findOneOrFail(MemberSchema, { userId, role: 'owner' }, { orderBy: { createdAt: 'asc' } });
  return member.organizationId;
}

/** Makes `userId` a member of `organizationId` with `role`; returns the member id. */
export async function addMember(t: TestApp, organizationId: string, userId: string, role: Role): Promise<string> {
  const id = newId();
  await t.services.orm.em.fork().insert(MemberSchema, { id, organizationId, userId, role, createdAt: new Date() });
  return id;
}

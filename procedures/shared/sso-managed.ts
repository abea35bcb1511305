/**
 * An address an organization's SSO manages: the user is a member of an organization that verified
 * the address's domain for a connection that is `required`. Such an address is the organization's to
 * control, so the user cannot move off it by changing their email (which would sign them back in with
 * a password, past the SSO-required policy); leaving the organization first frees it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiError } from '../../server/errors.js';
import { emailDomainSql } from '../../server/sql.js';

export async function refuseSsoManagedEmailChange(em: EntityManager, userId: string, email: string): Promise<void> {
  const [managed] = await em.getConnection().execute<{ organization_id: string; name: string }[]>(
    `select o.id as organization_id, o.name
       from members m
       join organizations o on o.id = m.organization_id
       join sso_domains d on d.organization_id = m.organization_id
       join sso_connections c on c.id = d.connection_id
      where m.user_id = ? and d.verified_at is not null and c.required
        and d.domain = ${emailDomainSql('?')}
      limit 1`,
    [userId, email],
    'all',
    em.getTransactionContext(),
  );
  if (!managed) return;
  throw new ApiError(
    'FORBIDDEN',
    `Your email address is managed by the single sign-on of ${managed.name}: it cannot be changed here. Leave the organization first, or ask its admins`,
    { organizationId: managed.organization_id },
  );
}

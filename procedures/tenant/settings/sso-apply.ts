/**
 * Writes a checked PUT of the SSO settings (sso-changes.ts) through the caller's EntityManager, to be
 * flushed in its transaction, and says what changed, for the audit entry:
 *
 * - connections are updated in place, created with a new id, or removed when left out;
 * - a client secret is stored only as services.encrypter's ciphertext, and named, never shown;
 * - a kept domain keeps its row (token, verification) even when it moves to another connection; a
 *   new one gets a fresh random token, unverified; a dropped one is deleted, and its verification with it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SsoConnectionSchema, SsoDomainSchema, type SsoConnection, type SsoDomain } from '../../../entities/sso.js';
import { randomToken } from '../../../server/crypto.js';
import { newId } from '../../../server/ids.js';
import type { Encrypter } from '../../../server/secrets.js';
import type { ConnectionPlan } from './sso-changes.js';

/** The stored fields whose change the audit entry names. */
const COMPARED = [
  'name',
  'defaultRole',
  'required',
  'allowIdpInitiated',
  'oidcIssuer',
  'oidcClientId',
  'samlIdpEntityId',
  'samlSsoUrl',
  'samlCertificates',
] as const;

export interface AppliedSsoChanges {
  /** The connection each domain now serves. */
  connectionOf: Map<string, SsoConnection>;
  /** What changed, for the audit entry: names and ids, never a secret. */
  summary: {
    created: { id: string; name: string; type: string }[];
    updated: { id: string; changed: string[] }[];
    deleted: { id: string; name: string; type: string }[];
    domainsAdded: string[];
    domainsRemoved: string[];
  };
}

export function applySsoPlans(
  em: EntityManager,
  input: {
    organizationId: string;
    current: { connections: SsoConnection[]; domains: SsoDomain[] };
    plans: ConnectionPlan[];
    encrypter: Encrypter;
    now: Date;
  },
): AppliedSsoChanges {
  const { organizationId, current, plans, encrypter, now } = input;
  const created: { id: string; name: string; type: string }[] = [];
  const updated: { id: string; changed: string[] }[] = [];
  const connectionOf = new Map<string, SsoConnection>();
  for (const plan of plans) {
    const before = new Set(current.domains.filter((d) => d.connectionId === plan.existing?.id).map((d) => d.domain));
    const domainsChanged = plan.domains.length !== before.size || plan.domains.some((d) => !before.has(d));
    let connection = plan.existing;
    if (connection) {
      const previous = connection;
      const changed: string[] = COMPARED.filter(
        (key) => JSON.stringify(previous[key]) !== JSON.stringify(plan.fields[key]),
      );
      if (plan.clientSecret !== null) changed.push('oidcClientSecret');
      if (domainsChanged) changed.push('domains');
      Object.assign(connection, plan.fields);
      if (plan.clientSecret !== null) connection.oidcClientSecret = encrypter.encrypt(plan.clientSecret);
      if (changed.length > 0) {
        connection.updatedAt = now;
        updated.push({ id: connection.id, changed });
      }
    } else {
      connection = em.create(SsoConnectionSchema, {
        id: newId(),
        organizationId,
        ...plan.fields,
        oidcClientSecret: plan.clientSecret === null ? null : encrypter.encrypt(plan.clientSecret),
        createdAt: now,
        updatedAt: now,
      });
      created.push({ id: connection.id, name: connection.name, type: connection.type });
    }
    for (const domain of plan.domains) connectionOf.set(domain, connection);
  }
  const kept = new Set(plans.map((p) => p.existing?.id));
  const deleted = current.connections.filter((c) => !kept.has(c.id));
  for (const connection of deleted) em.remove(connection);

  const domainsRemoved: string[] = [];
  for (const row of current.domains) {
    const target = connectionOf.get(row.domain);
    if (!target) {
      em.remove(row);
      domainsRemoved.push(row.domain);
    } else {
      row.connectionId = target.id;
    }
  }
  const known = new Set(current.domains.map((d) => d.domain));
  const domainsAdded = [...connectionOf.keys()].filter((domain) => !known.has(domain));
  for (const domain of domainsAdded) {
    em.create(SsoDomainSchema, {
      id: newId(),
      organizationId,
      connectionId: connectionOf.get(domain)?.id ?? null,
      domain,
      verificationToken: randomToken(24),
      verifiedAt: null,
      lastCheckedAt: null,
      createdAt: now,
    });
  }

  return {
    connectionOf,
    summary: {
      created,
      updated,
      deleted: deleted.map((c) => ({ id: c.id, name: c.name, type: c.type })),
      domainsAdded,
      domainsRemoved,
    },
  };
}

/**
 * Hot-path reads that skip the query builder: a pooled connection straight from the ORM's pool and
 * a named prepared statement, so PostgreSQL plans the query once per connection instead of on every
 * request. Inside a transaction the ORM's own connection is used instead, so the read sees its writes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

interface PgClient {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<unknown>;
}

/**
 * SQL for a timestamp column as the API shows it (ISO 8601, UTC, milliseconds), so that a hot read
 * returns the text itself instead of a Date to parse and format again per field.
 */
export const isoTimestamp = (column: string): string =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** SQL for the domain of an email column or parameter, lower-cased as sso_domains holds domains. */
export const emailDomainSql = (email: string): string => `lower(substring(${email} from '@([^@]+)$'))`;

/** Runs `text` (with $1, $2… placeholders) as the prepared statement `name`. */
export async function preparedRows<T>(em: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
  const transaction = em.getTransactionContext();
  if (transaction) {
    // The query builder numbers nothing: each $n becomes a ? with its value, in order of appearance.
    const ordered = [...text.matchAll(/\$(\d+)/g)].map((m) => values[Number(m[1]) - 1]);
    return em.getConnection().execute<T[]>(text.replace(/\$\d+/g, '?'), ordered, 'all', transaction);
  }
  const client = (em.getConnection().getKnex() as unknown as { client: KnexClient }).client;
  const connection = await client.acquireConnection();
  try {
    return (await connection.query<T>({ name, text, values })).rows;
  } finally {
    await client.releaseConnection(connection);
  }
}

/** SQL: whether the user in `userColumn` has two-factor on (a confirmed TOTP authenticator). */
export function twoFactorEnabledSql(userColumn: string): string {
  return `exists (select 1 from two_factors f where f.user_id = ${userColumn} and f.confirmed_at is not null)`;
}

/** SQL: whether that user has a second factor an organization's MFA policy accepts: two-factor on, or a passkey. */
export function hasSecondFactorSql(userColumn: string): string {
  return `(${twoFactorEnabledSql(userColumn)} or exists (select 1 from passkeys p where p.user_id = ${userColumn}))`;
}

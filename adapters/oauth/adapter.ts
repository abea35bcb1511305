/**
 * node-oidc-provider's storage adapter on PostgreSQL: every artifact (grants, codes, refresh tokens,
 * sessions, interactions) is one row of oidc_artifacts, with the lookups the provider needs. Clients
 * are not stored here: they come from the registry (oauth_clients) that users manage through the API.
 *
 * - An artifact's id is a bearer secret (a code, a refresh token, the provider's session cookie, an
 *   interaction's cookie and URL): rows are keyed by its SHA-256 and no payload repeats it (`jti`,
 *   an interaction's `returnTo` and its copy of the session cookie), so reading the table yields
 *   nothing anyone can present. The provider always passes the id it looks for, which puts it back.
 *   Grants alone keep their ids: no one can present a grant id, and the API looks grants up by it.
 * - A device flow's user code is a secret a person types, kept only as SHA-256 too.
 * - A used refresh token reads as unused for REFRESH_REUSE_GRACE_MS after its first use, so that a
 *   client's concurrent or retried refresh succeeds; replayed later, the provider sees it used and
 *   revokes the whole family (API.md section 10).
 * - Values that cannot be ids (a NUL, which PostgreSQL refuses in text; an implausible client id)
 *   are simply not found.
 */
export const REFRESH_REUSE_GRACE_MS = 10_000;
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { OAuthClientSchema } from '../../entities/oauth.js';
import { sha256Hex } from '../../server/crypto.js';

interface Row {
  payload: AdapterPayload;
  consumed_at: string | null;
}

/** Client ids are ULIDs (the registry) or nanoids (RFC 7591 registration); the column holds 64. */
const PLAUSIBLE_CLIENT_ID = /^[\x21-\x7e]{1,64}$/;
/** Where an interaction's `returnTo` URL carried its uid. */
const UID_MARK = '{uid}';

const storedId = (model: string, id: string) => (model === 'Grant' ? id : sha256Hex(id));

/** The payload as stored: without the copies of the id (or of another secret) it would carry. */
function storable(model: string, id: string, payload: AdapterPayload): AdapterPayload {
  if (model === 'Grant') return payload;
  const { jti: _jti, userCode: _userCode, ...stored } = payload;
  if (model === 'Interaction') {
    if (typeof stored.returnTo === 'string') stored.returnTo = stored.returnTo.replaceAll(id, UID_MARK);
    if (stored.session && typeof stored.session === 'object') {
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session;
    }
  }
  return stored;
}

/** The payload as the provider wrote it, from what was stored and the id the provider looked for. */
function restored(model: string, id: string, payload: AdapterPayload): AdapterPayload {
  if (model === 'Grant') return payload;
  const found = { ...payload, jti: id };
  if (model === 'Interaction' && typeof found.returnTo === 'string')
    found.returnTo = found.returnTo.replaceAll(UID_MARK, id);
  return found;
}

export function createAdapterClass(em: EntityManager, now: () => Date) {
  const connection = () => em.getConnection();

  return class PostgresAdapter implements Adapter {
    private readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') return saveRegisteredClient(em, id, payload, now());
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const userCode = typeof payload.userCode === 'string' ? sha256Hex(payload.userCode) : null;
      await connection().execute(
        `insert into oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
         values (?, ?, ?, ?, ?, ?, ?, null)
         on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [
          this.model,
          storedId(this.model, id),
          JSON.stringify(storable(this.model, id, payload)),
          payload.grantId ?? null,
          userCode,
          payload.uid ?? null,
          expiresAt,
        ],
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return registeredClient(em, id);
      const payload = await this.findWhere('id = ?', storedId(this.model, id));
      return payload && restored(this.model, id, payload);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      // The device code's own id is not stored, so it cannot be given back: the device flow is off.
      const payload = await this.findWhere('user_code = ?', sha256Hex(userCode));
      return payload && { ...payload, userCode };
    }

    /**
     * A session by its uid (not a secret: it never leaves the server). Its id, the cookie value, is not
     * stored, so the session found has none; the provider only reads such a session.
     */
    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findWhere('uid = ?', uid);
    }

    async consume(id: string): Promise<void> {
      // The first use starts the grace period; later uses must not extend it.
      await connection().execute(
        'update oidc_artifacts set consumed_at = coalesce(consumed_at, ?) where model = ? and id = ?',
        [now(), this.model, storedId(this.model, id)],
      );
    }

    async destroy(id: string): Promise<void> {
      await connection().execute('delete from oidc_artifacts where model = ? and id = ?', [
        this.model,
        storedId(this.model, id),
      ]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await connection().execute('delete from oidc_artifacts where grant_id = ?', [grantId]);
    }

    private async findWhere(condition: string, value: string): Promise<AdapterPayload | undefined> {
      if (value.includes('\u0000')) return undefined;
      const [row] = await connection().execute<Row[]>(
        `select payload, consumed_at from oidc_artifacts where model = ? and ${condition} and (expires_at is null or expires_at > now())`,
        [this.model, value],
      );
      if (!row) return undefined;
      if (!row.consumed_at) return row.payload;
      const consumedAt = new Date(row.consumed_at).getTime();
      if (this.model === 'RefreshToken' && now().getTime() - consumedAt < REFRESH_REUSE_GRACE_MS) return row.payload;
      return { ...row.payload, consumed: Math.floor(consumedAt / 1000) };
    }
  };
}

/**
 * A client registered through RFC 7591 (only with OAUTH_DYNAMIC_REGISTRATION=true) joins the registry
 * without an owner; like every client its secret is kept only as SHA-256.
 */
async function saveRegisteredClient(em: EntityManager, id: string, payload: AdapterPayload, now: Date): Promise<void> {
  const secret = typeof payload.client_secret === 'string' ? payload.client_secret : null;
  const type = payload.token_endpoint_auth_method === 'none' || !secret ? 'public' : 'confidential';
  const scopes = typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : ['openid'];
  await em.getConnection().execute(
    `insert into oauth_clients (id, user_id, name, type, secret_hash, redirect_uris, allowed_scopes, grant_types, logo_uri, policy_uri, tos_uri, created_at, updated_at, secret_rotated_at)
     values (?, null, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)
     on conflict (id) do update set name = excluded.name, redirect_uris = excluded.redirect_uris, allowed_scopes = excluded.allowed_scopes,
       grant_types = excluded.grant_types, logo_uri = excluded.logo_uri, policy_uri = excluded.policy_uri, tos_uri = excluded.tos_uri, updated_at = excluded.updated_at`,
    [
      id,
      String(payload.client_name ?? 'Registered client').slice(0, 100),
      type,
      secret ? sha256Hex(secret) : null,
      JSON.stringify(payload.redirect_uris ?? []),
      JSON.stringify(scopes),
      JSON.stringify(payload.grant_types ?? ['authorization_code']),
      payload.logo_uri ?? null,
      payload.policy_uri ?? null,
      payload.tos_uri ?? null,
      now,
      now,
    ],
  );
}

/**
 * A registered client as the provider sees it. The stored secret is the SHA-256 of the real one; the
 * mount hashes what a client presents before the provider compares them (adapters/oauth/index.ts).
 */
export async function registeredClient(em: EntityManager, clientId: string): Promise<AdapterPayload | undefined> {
  if (!PLAUSIBLE_CLIENT_ID.test(clientId)) return undefined;
  const client = await em.fork().findOne(OAuthClientSchema, { id: clientId });
  if (!client) return undefined;
  const confidential = client.type === 'confidential' && client.secretHash !== null;
  return {
    client_id: client.id,
    ...(confidential ? { client_secret: client.secretHash! } : {}),
    client_name: client.name,
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
    scope: client.allowedScopes.join(' '),
    ...(client.logoUri ? { logo_uri: client.logoUri } : {}),
    ...(client.policyUri ? { policy_uri: client.policyUri } : {}),
    ...(client.tosUri ? { tos_uri: client.tosUri } : {}),
  };
}

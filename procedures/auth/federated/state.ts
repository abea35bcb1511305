/**
 * A federated sign-in's state, from the redirect to the provider until its answer (social and SSO).
 *
 * - The `state` parameter (OpenID Connect, GitHub) or the AuthnRequest id (SAML) names a row that lives
 *   10 minutes and is used once: one atomic UPDATE … WHERE used_at IS NULL, committed on its own
 *   before the answer is checked, so a replayed or failed answer burns it.
 * - Only hashes are stored for `state` and the browser binding; the nonce and PKCE verifier are
 *   AES-256-GCM ciphertext (services.encrypter).
 * - Redirect flows are bound to the browser that started them: a cookie (HttpOnly, SameSite=Lax, kept
 *   across flows of the same browser) whose hash the row holds, so nobody can sign a victim in to the
 *   attacker's account by sending them the callback URL (login CSRF). The SAML POST binding arrives
 *   cross-site, where a Lax cookie is not sent: it is bound by InResponseTo instead.
 * - Every refusal is INVALID_FEDERATION_STATE with `meta.reason`: invalid-state, state-expired,
 *   state-replayed, browser-mismatch. Rows are kept a day past their expiry, so that a late answer is
 *   told it expired; each new start sweeps older ones (by the expires_at index).
 */
import { FederatedStateSchema, type FederatedState } from '../../../entities/federated-state.js';
import { hostCookieName, readCookie } from '../../../server/auth/sessions.js';
import type { Context } from '../../../server/context.js';
import { randomToken, sha256Hex, TOKEN_PATTERN } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';

export const FEDERATED_STATE_TTL_MS = 10 * 60 * 1000;
const SWEEP_AFTER_MS = 24 * 60 * 60 * 1000;

export type FederatedStateReason = 'invalid-state' | 'state-expired' | 'state-replayed' | 'browser-mismatch';

const MESSAGES: Record<FederatedStateReason, string> = {
  'invalid-state': 'This sign-in attempt is unknown; start the sign-in again',
  'state-expired': 'This sign-in attempt took longer than 10 minutes; start the sign-in again',
  'state-replayed': 'This sign-in attempt was already used; start the sign-in again',
  'browser-mismatch': 'This sign-in attempt was started in another browser; start the sign-in again here',
};

export function stateError(reason: FederatedStateReason): ApiError {
  return new ApiError('INVALID_FEDERATION_STATE', MESSAGES[reason], { reason });
}

const bindingCookieName = (ctx: Pick<Context, 'services'>) => hostCookieName(ctx.services.config, 'federation');

/** The browser's binding: the one it has, or a new one (set as a cookie on this answer). */
function browserBinding(ctx: Pick<Context, 'services' | 'cookieHeader' | 'setCookie'>): string {
  const existing = readCookie(ctx.cookieHeader, bindingCookieName(ctx));
  const binding = existing && TOKEN_PATTERN.test(existing) ? existing : randomToken();
  const maxAge = FEDERATED_STATE_TTL_MS / 1000;
  ctx.setCookie(`${bindingCookieName(ctx)}=${binding}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`);
  return binding;
}

export interface NewFederatedFlow {
  kind: FederatedState['kind'];
  /** The social provider's id, or `sso:<connection id>`. */
  provider: string;
  connectionId?: string;
  /** Kept encrypted until the answer: the nonce, the PKCE verifier. */
  secrets?: Record<string, string>;
  /** A trusted callback URL (checked by the caller), where the browser goes once signed in. */
  callbackUrl?: string;
  /** SAML: the AuthnRequest's id, which the response's InResponseTo must name. */
  samlRequestId?: string;
}

/** Records a flow about to redirect to its provider; returns the `state` to send along. */
export async function beginFederatedFlow(ctx: Context, flow: NewFederatedFlow): Promise<string> {
  const state = randomToken();
  const now = ctx.services.now();
  // Flows past their 10 minutes are kept a day (a late answer is told it expired), then swept here.
  await ctx.em
    .getConnection()
    .execute('delete from federated_states where expires_at < ?', [new Date(now.getTime() - SWEEP_AFTER_MS)]);
  ctx.em.persist(
    ctx.em.create(FederatedStateSchema, {
      id: newId(),
      stateHash: sha256Hex(state),
      bindingHash: sha256Hex(browserBinding(ctx)),
      kind: flow.kind,
      provider: flow.provider,
      connectionId: flow.connectionId ?? null,
      secrets: flow.secrets ? ctx.services.encrypter.encrypt(JSON.stringify(flow.secrets)) : null,
      callbackUrl: flow.callbackUrl ?? null,
      samlRequestId: flow.samlRequestId ?? null,
      expiresAt: new Date(now.getTime() + FEDERATED_STATE_TTL_MS),
      usedAt: null,
      createdAt: now,
    }),
  );
  await ctx.em.flush();
  return state;
}

export interface ConsumedFlow {
  id: string;
  provider: string;
  connectionId: string | null;
  secrets: Record<string, string>;
  callbackUrl: string | null;
  samlRequestId: string | null;
}

interface StateRow {
  id: string;
  provider: string;
  connection_id: string | null;
  secrets: string | null;
  callback_url: string | null;
  saml_request_id: string | null;
  binding_hash: string;
}

/**
 * Uses up the flow named by `state` (redirect flows: the browser must be the one that started it) or
 * by a SAML response's InResponseTo, for `provider`; throws INVALID_FEDERATION_STATE otherwise.
 * Commits on its own (the caller's EntityManager outside any transaction).
 */
export async function consumeFederatedFlow(
  ctx: Context,
  provider: string,
  by: { state: string | undefined } | { samlRequestId: string },
): Promise<ConsumedFlow> {
  const now = ctx.services.now();
  const [column, value] =
    'state' in by
      ? (['state_hash', by.state && TOKEN_PATTERN.test(by.state) ? sha256Hex(by.state) : undefined] as const)
      : (['saml_request_id', by.samlRequestId.slice(0, 255)] as const);
  if (!value) throw stateError('invalid-state');
  const connection = ctx.em.getConnection();
  const [row] = await connection.execute<StateRow[]>(
    `update federated_states set used_at = ?
      where ${column} = ? and provider = ? and used_at is null and expires_at > ?
      returning id, provider, connection_id, secrets, callback_url, saml_request_id, binding_hash`,
    [now, value, provider, now],
  );
  if (!row) {
    const [seen] = await connection.execute<{ used_at: Date | null }[]>(
      `select used_at from federated_states where ${column} = ? and provider = ?`,
      [value, provider],
    );
    throw stateError(!seen ? 'invalid-state' : seen.used_at ? 'state-replayed' : 'state-expired');
  }
  if ('state' in by) {
    const binding = readCookie(ctx.cookieHeader, bindingCookieName(ctx));
    if (!binding || sha256Hex(binding) !== row.binding_hash) throw stateError('browser-mismatch');
  }
  return {
    id: row.id,
    provider: row.provider,
    connectionId: row.connection_id,
    secrets: row.secrets ? (JSON.parse(ctx.services.encrypter.decrypt(row.secrets)) as Record<string, string>) : {},
    callbackUrl: row.callback_url,
    samlRequestId: row.saml_request_id,
  };
}

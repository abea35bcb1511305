import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, timestamp } from './columns.js';

/**
 * A federated sign-in in flight (social or enterprise SSO), from the redirect to the provider until its
 * answer comes back: 10 minutes, single use. Only the SHA-256 of the `state` parameter and of the
 * browser binding (a cookie set when the flow started) are stored; the nonce and PKCE verifier are in
 * `secrets`, AES-256-GCM ciphertext of a JSON object. A SAML flow keeps its AuthnRequest id, which
 * the response's InResponseTo must name.
 */
export interface FederatedState {
  id: string;
  stateHash: string;
  bindingHash: string;
  kind: 'social' | 'sso';
  /** The social provider's id, or `sso:<connection id>`. */
  provider: string;
  connectionId: string | null;
  secrets: string | null;
  callbackUrl: string | null;
  samlRequestId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}

export const FederatedStateSchema = new EntitySchema<FederatedState>({
  name: 'FederatedState',
  tableName: 'federated_states',
  properties: {
    id: idColumn,
    stateHash: { type: 'string', columnType: 'char(64)', unique: 'federated_states_state_hash_unique' },
    bindingHash: { type: 'string', columnType: 'char(64)' },
    kind: { type: 'string', length: 8 },
    provider: { type: 'string', length: 64 },
    connectionId: { type: 'string', columnType: 'char(26)', nullable: true },
    secrets: { type: 'text', nullable: true },
    callbackUrl: { type: 'string', length: 2048, nullable: true },
    samlRequestId: { type: 'string', length: 255, nullable: true },
    expiresAt: timestamp,
    usedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});

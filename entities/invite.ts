import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

export type InviteStatus = 'pending' | 'accepted' | 'revoked';

/** An emailed invitation to join an organization with a role; only the token's SHA-256 is stored. */
export interface Invite {
  id: string;
  organizationId: string;
  email: string;
  role: 'owner' | 'admin' | 'member';
  tokenHash: string;
  status: InviteStatus;
  invitedByUserId: string | null;
  expiresAt: Date;
  createdAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

export const InviteSchema = new EntitySchema<Invite>({
  name: 'Invite',
  tableName: 'invites',
  indexes: [{ name: 'invites_email_idx', properties: ['email'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id' },
    email: { type: 'string', length: 320 },
    role: { type: 'string', length: 16 },
    tokenHash: { type: 'string', columnType: 'char(64)', unique: 'invites_token_hash_unique' },
    status: { type: 'string', length: 16 },
    invitedByUserId: clearedWith('User', 'invited_by_user_id'),
    expiresAt: timestamp,
    createdAt: timestamp,
    acceptedAt: optionalTimestamp,
    revokedAt: optionalTimestamp,
  },
});

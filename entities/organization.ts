import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

export interface OrganizationSettings {
  /** IANA time zone used for reports, e.g. Europe/Paris. */
  timezone: string;
  /** BCP 47 language tag for emails and reports, e.g. en-US. */
  locale: string;
  /** When non-empty, invitations may only go to these email domains. */
  allowedEmailDomains: string[];
}

export const DEFAULT_SETTINGS: OrganizationSettings = { timezone: 'UTC', locale: 'en-US', allowedEmailDomains: [] };

export interface Organization {
  id: string;
  name: string;
  slug: string;
  settings: OrganizationSettings;
  /** Members must have two-factor or a passkey to use the organization's routes. */
  mfaRequired: boolean;
  /** Days a member has, from `mfaRequiredSince` or from joining (whichever is later), to comply. */
  mfaGracePeriodDays: number;
  mfaRequiredSince: Date | null;
  /** The organization's Stripe customer, made at its first checkout. */
  stripeCustomerId: string | null;
  billingEmail: string | null;
  billingTaxId: string | null;
  billingAddress: BillingAddress | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Where invoices are addressed (Stripe's address fields). */
export interface BillingAddress {
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  state: string | null;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export const OrganizationSchema = new EntitySchema<Organization>({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: idColumn,
    name: { type: 'string', length: 100 },
    slug: { type: 'string', length: 64, unique: 'organizations_slug_unique' },
    settings: { type: 'json', columnType: 'jsonb', default: JSON.stringify(DEFAULT_SETTINGS) },
    mfaRequired: { type: 'boolean', default: false },
    mfaGracePeriodDays: { type: 'integer', default: 0 },
    mfaRequiredSince: optionalTimestamp,
    stripeCustomerId: { type: 'string', length: 255, nullable: true },
    billingEmail: { type: 'string', length: 320, nullable: true },
    billingTaxId: { type: 'string', length: 64, nullable: true },
    billingAddress: { type: 'json', columnType: 'jsonb', nullable: true },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

export interface Member {
  id: string;
  organizationId: string;
  userId: string;
  role: 'owner' | 'admin' | 'member';
  createdAt: Date;
}

export const MemberSchema = new EntitySchema<Member>({
  name: 'Member',
  tableName: 'members',
  uniques: [{ name: 'members_organization_user_unique', properties: ['organizationId', 'userId'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id', index: false },
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    role: { type: 'string', length: 16 },
    createdAt: timestamp,
  },
});

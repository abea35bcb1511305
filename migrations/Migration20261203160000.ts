import { Migration } from '@mikro-orm/migrations';

/**
 * Federated sign-in (social providers, enterprise SSO over OpenID Connect and SAML 2.0):
 * - a user's linked accounts share the `accounts` table with the password: a provider's subject
 *   (`account_id`) is unique per provider, and only the password row has a hash;
 * - an organization's SSO connections, the email domains each serves (verified by a DNS TXT record;
 *   a domain can be verified by one organization at a time), and the assertion ids a SAML connection
 *   has accepted (replay);
 * - a federated flow's state (state, nonce, PKCE verifier, the browser it was started in), single use;
 * - a session, and a key minted from it, remember the organization whose SSO signed it in, for that
 *   organization's SSO-required policy;
 * - a failed federated sign-in is recorded even when it names no known account, and the second step of a
 *   social sign-in remembers its provider for the history.
 */
export class Migration20261203160000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "accounts"
      alter column "password_hash" drop not null,
      alter column "provider_id" type varchar(64),
      add column "account_id" varchar(255) null,
      add column "email" varchar(320) null;`);
    this.addSql(
      `create unique index "accounts_provider_account_unique" on "accounts" ("provider_id", "account_id") where "account_id" is not null;`,
    );

    this.addSql(`create table "sso_connections" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "name" varchar(100) not null,
      "type" varchar(8) not null,
      "default_role" varchar(16) not null,
      "required" boolean not null default false,
      "allow_idp_initiated" boolean not null default false,
      "oidc_issuer" varchar(2048) null,
      "oidc_client_id" varchar(255) null,
      "oidc_client_secret" text null,
      "saml_idp_entity_id" varchar(1024) null,
      "saml_sso_url" varchar(2048) null,
      "saml_certificates" text[] not null default '{}',
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null);`);
    this.addSql(`create index "sso_connections_organization_id_index" on "sso_connections" ("organization_id");`);

    this.addSql(`create table "sso_domains" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "connection_id" char(26) null references "sso_connections" ("id") on delete set null,
      "domain" varchar(253) not null,
      "verification_token" varchar(64) not null,
      "verified_at" timestamptz null,
      "last_checked_at" timestamptz null,
      "created_at" timestamptz not null,
      constraint "sso_domains_organization_domain_unique" unique ("organization_id", "domain"));`);
    this.addSql(
      `create unique index "sso_domains_verified_domain_unique" on "sso_domains" ("domain") where "verified_at" is not null;`,
    );
    this.addSql(`create index "sso_domains_connection_id_index" on "sso_domains" ("connection_id");`);

    this.addSql(`create table "saml_assertions" (
      "connection_id" char(26) not null references "sso_connections" ("id") on delete cascade,
      "assertion_id" varchar(255) not null,
      "expires_at" timestamptz not null,
      primary key ("connection_id", "assertion_id"));`);

    this.addSql(`create table "federated_states" (
      "id" char(26) not null primary key,
      "state_hash" char(64) not null constraint "federated_states_state_hash_unique" unique,
      "binding_hash" char(64) not null,
      "kind" varchar(8) not null,
      "provider" varchar(64) not null,
      "connection_id" char(26) null references "sso_connections" ("id") on delete cascade,
      "secrets" text null,
      "callback_url" varchar(2048) null,
      "saml_request_id" varchar(255) null,
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      "created_at" timestamptz not null);`);
    this.addSql(
      `create unique index "federated_states_saml_request_unique" on "federated_states" ("saml_request_id") where "saml_request_id" is not null;`,
    );

    this.addSql(
      `alter table "sessions" add column "sso_organization_id" char(26) null references "organizations" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "api_keys" add column "sso_organization_id" char(26) null references "organizations" ("id") on delete set null;`,
    );

    this.addSql(`create index "federated_states_expires_at_index" on "federated_states" ("expires_at");`);
    this.addSql(`alter table "sign_in_challenges" add column "provider" varchar(64) null;`);

    this.addSql(`alter table "login_history"
      alter column "user_id" drop not null,
      add column "provider" varchar(64) null,
      add column "email" varchar(320) null;`);
  }
}

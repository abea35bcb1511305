import { Migration } from '@mikro-orm/migrations';

/**
 * Account security (two-factor, passkeys, magic links, organization MFA policy):
 * - a session records how it was made (`auth_methods`) and when its user last proved themselves
 *   strongly (`strong_auth_at`), for step-up; sessions from before were password sign-ins;
 * - TOTP secrets (AES-256-GCM ciphertext), backup codes (keyed hashes), sign-in challenges between
 *   the first and the second factor, passkeys and WebAuthn challenges;
 * - an emailed magic link may be for an address with no account yet, so a verification's user is optional;
 * - an organization's MFA requirement, its grace period and since when it applies.
 */
export class Migration20261203130000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "sessions" add column "auth_methods" text[] not null default '{pwd}', add column "strong_auth_at" timestamptz null;`,
    );
    this.addSql(`update "sessions" set "strong_auth_at" = "created_at";`);
    this.addSql(
      `alter table "sessions" alter column "strong_auth_at" set not null, alter column "auth_methods" drop default;`,
    );
    this.addSql(`update "login_history" set "method" = 'pwd' where "method" = 'password';`);

    this.addSql(`create table "two_factors" (
      "user_id" char(26) not null primary key references "users" ("id") on delete cascade,
      "secret" text not null,
      "confirmed_at" timestamptz null,
      "last_used_step" bigint null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null);`);

    this.addSql(`create table "backup_codes" (
      "id" char(26) not null primary key,
      "user_id" char(26) not null references "users" ("id") on delete cascade,
      "code_hash" char(64) not null,
      "used_at" timestamptz null,
      "created_at" timestamptz not null,
      constraint "backup_codes_user_code_unique" unique ("user_id", "code_hash"));`);

    this.addSql(`create table "sign_in_challenges" (
      "id" char(26) not null primary key,
      "user_id" char(26) not null references "users" ("id") on delete cascade,
      "token_hash" char(64) not null constraint "sign_in_challenges_token_hash_unique" unique,
      "methods" text[] not null,
      "attempts" int not null default 0,
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      "created_at" timestamptz not null);`);
    this.addSql(`create index "sign_in_challenges_user_id_index" on "sign_in_challenges" ("user_id");`);

    this.addSql(`create table "passkeys" (
      "id" char(26) not null primary key,
      "user_id" char(26) not null references "users" ("id") on delete cascade,
      "credential_id" varchar(1024) not null constraint "passkeys_credential_id_unique" unique,
      "public_key" text not null,
      "counter" bigint not null default 0,
      "transports" text[] not null default '{}',
      "device_type" varchar(32) not null,
      "backed_up" boolean not null,
      "aaguid" varchar(36) not null,
      "name" varchar(100) not null,
      "created_at" timestamptz not null,
      "last_used_at" timestamptz null);`);
    this.addSql(`create index "passkeys_user_id_index" on "passkeys" ("user_id");`);

    this.addSql(`create table "webauthn_challenges" (
      "id" char(26) not null primary key,
      "challenge_hash" char(64) not null constraint "webauthn_challenges_challenge_hash_unique" unique,
      "purpose" varchar(16) not null,
      "user_id" char(26) null references "users" ("id") on delete cascade,
      "expires_at" timestamptz not null,
      "used_at" timestamptz null,
      "created_at" timestamptz not null);`);
    this.addSql(`create index "webauthn_challenges_user_id_index" on "webauthn_challenges" ("user_id");`);

    this.addSql(`alter table "verifications" alter column "user_id" drop not null;`);
    this.addSql(`create index "verifications_email_purpose_index" on "verifications" ("email", "purpose");`);

    this.addSql(`alter table "organizations"
      add column "mfa_required" boolean not null default false,
      add column "mfa_grace_period_days" int not null default 0,
      add column "mfa_required_since" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "organizations" drop column "mfa_required", drop column "mfa_grace_period_days", drop column "mfa_required_since";`,
    );
    this.addSql(`drop index "verifications_email_purpose_index";`);
    this.addSql(`delete from "verifications" where "user_id" is null;`);
    this.addSql(`alter table "verifications" alter column "user_id" set not null;`);
    this.addSql(`drop table "webauthn_challenges";`);
    this.addSql(`drop table "passkeys";`);
    this.addSql(`drop table "sign_in_challenges";`);
    this.addSql(`drop table "backup_codes";`);
    this.addSql(`drop table "two_factors";`);
    this.addSql(`update "login_history" set "method" = 'password' where "method" = 'pwd';`);
    this.addSql(`alter table "sessions" drop column "auth_methods", drop column "strong_auth_at";`);
  }
}

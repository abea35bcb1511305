import { Migration } from '@mikro-orm/migrations';

export class Migration20261127231326 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "oidc_artifacts" ("model" varchar(64) not null, "id" varchar(255) not null, "payload" jsonb not null, "grant_id" varchar(255) null, "user_code" varchar(255) null, "uid" varchar(255) null, "expires_at" timestamptz null, "consumed_at" timestamptz null, constraint "oidc_artifacts_pkey" primary key ("model", "id"));`,
    );
    this.addSql(`create index "oidc_artifacts_grant_idx" on "oidc_artifacts" ("grant_id");`);
    this.addSql(`create index "oidc_artifacts_uid_idx" on "oidc_artifacts" ("uid");`);
    this.addSql(`create index "oidc_artifacts_expires_idx" on "oidc_artifacts" ("expires_at");`);

    this.addSql(
      `create table "signing_keys" ("kid" varchar(64) not null, "alg" varchar(16) not null, "encrypted_jwk" text not null, "created_at" timestamptz not null, "retired_at" timestamptz null, constraint "signing_keys_pkey" primary key ("kid"));`,
    );

    this.addSql(
      `create table "oauth_clients" ("id" varchar(64) not null, "user_id" char(26) not null, "name" varchar(100) not null, "type" varchar(16) not null, "secret_hash" char(64) null, "redirect_uris" jsonb not null, "allowed_scopes" jsonb not null, "grant_types" jsonb not null, "logo_uri" varchar(2048) null, "policy_uri" varchar(2048) null, "tos_uri" varchar(2048) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "secret_rotated_at" timestamptz null, constraint "oauth_clients_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "oauth_clients_user_id_index" on "oauth_clients" ("user_id");`);

    this.addSql(
      `alter table "oauth_clients" add constraint "oauth_clients_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "oidc_artifacts" cascade;`);

    this.addSql(`drop table if exists "signing_keys" cascade;`);

    this.addSql(`drop table if exists "oauth_clients" cascade;`);
  }
}

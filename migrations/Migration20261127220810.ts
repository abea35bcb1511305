import { Migration } from '@mikro-orm/migrations';

export class Migration20261127220810 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "organizations" ("id" char(26) not null, "name" varchar(100) not null, "slug" varchar(64) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "organizations_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "organizations" add constraint "organizations_slug_unique" unique ("slug");`);

    this.addSql(
      `create table "users" ("id" char(26) not null, "email" varchar(320) not null, "full_name" varchar(200) not null, "is_active" boolean not null default true, "verified_at" timestamptz null, "last_login_at" timestamptz null, "email_preferences" jsonb not null, "role" varchar(16) not null default 'user', "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "sessions" ("id" char(26) not null, "user_id" char(26) not null, "token_hash" char(64) not null, "ip" varchar(64) not null, "user_agent" varchar(512) not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, constraint "sessions_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);
    this.addSql(`alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `create table "members" ("id" char(26) not null, "organization_id" char(26) not null, "user_id" char(26) not null, "role" varchar(16) not null, "created_at" timestamptz not null, constraint "members_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "members_user_id_index" on "members" ("user_id");`);
    this.addSql(
      `alter table "members" add constraint "members_organization_user_unique" unique ("organization_id", "user_id");`,
    );

    this.addSql(
      `create table "login_history" ("id" char(26) not null, "user_id" char(26) not null, "ip" varchar(64) not null, "user_agent" varchar(512) not null, "method" varchar(32) not null, "outcome" varchar(16) not null, "reason" varchar(64) null, "created_at" timestamptz not null, constraint "login_history_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "login_history_user_created_idx" on "login_history" ("user_id", "created_at");`);

    this.addSql(
      `create table "accounts" ("id" char(26) not null, "user_id" char(26) not null, "provider_id" varchar(32) not null, "password_hash" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "accounts_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "accounts_user_id_index" on "accounts" ("user_id");`);
    this.addSql(
      `alter table "accounts" add constraint "accounts_user_provider_unique" unique ("user_id", "provider_id");`,
    );

    this.addSql(
      `create table "verifications" ("id" char(26) not null, "user_id" char(26) not null, "purpose" varchar(32) not null, "token_hash" char(64) not null, "email" varchar(320) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null, constraint "verifications_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "verifications_user_id_index" on "verifications" ("user_id");`);
    this.addSql(`alter table "verifications" add constraint "verifications_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "members" add constraint "members_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "members" add constraint "members_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "login_history" add constraint "login_history_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "accounts" add constraint "accounts_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "verifications" add constraint "verifications_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }
}

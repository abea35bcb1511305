import { Migration } from '@mikro-orm/migrations';

export class Migration20261127223744 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "projects" ("id" char(26) not null, "organization_id" char(26) not null, "name" varchar(100) not null, "slug" varchar(64) not null, "website" varchar(2048) null, "description" text null, "status" varchar(16) not null, "publishable_key" varchar(64) not null, "created_by_user_id" char(26) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "projects_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "projects" add constraint "projects_publishable_key_unique" unique ("publishable_key");`);
    this.addSql(`create index "projects_organization_created_idx" on "projects" ("organization_id", "created_at");`);
    this.addSql(
      `alter table "projects" add constraint "projects_organization_slug_unique" unique ("organization_id", "slug");`,
    );

    this.addSql(
      `create table "invites" ("id" char(26) not null, "organization_id" char(26) not null, "email" varchar(320) not null, "role" varchar(16) not null, "token_hash" char(64) not null, "status" varchar(16) not null, "invited_by_user_id" char(26) null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "accepted_at" timestamptz null, "revoked_at" timestamptz null, constraint "invites_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "invites_organization_id_index" on "invites" ("organization_id");`);
    this.addSql(`alter table "invites" add constraint "invites_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invites_email_idx" on "invites" ("email");`);
    // At most one live invitation per address and organization.
    this.addSql(
      `create unique index "invites_pending_unique" on "invites" ("organization_id", "email") where "status" = 'pending';`,
    );

    this.addSql(
      `create table "audit_logs" ("id" char(26) not null, "organization_id" char(26) not null, "actor_user_id" char(26) null, "actor_type" varchar(16) not null, "action" varchar(64) not null, "target_type" varchar(32) not null, "target_id" varchar(64) null, "metadata" jsonb not null, "ip" varchar(64) not null, "user_agent" varchar(512) not null, "created_at" timestamptz not null, constraint "audit_logs_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "audit_logs_organization_created_idx" on "audit_logs" ("organization_id", "created_at");`,
    );

    this.addSql(
      `alter table "projects" add constraint "projects_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "projects" add constraint "projects_created_by_user_id_foreign" foreign key ("created_by_user_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "invites" add constraint "invites_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "invites" add constraint "invites_invited_by_user_id_foreign" foreign key ("invited_by_user_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_actor_user_id_foreign" foreign key ("actor_user_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "organizations" add column "settings" jsonb not null default '{"timezone":"UTC","locale":"en-US","allowedEmailDomains":[]}';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "projects" cascade;`);

    this.addSql(`drop table if exists "invites" cascade;`);

    this.addSql(`drop table if exists "audit_logs" cascade;`);

    this.addSql(`alter table "organizations" drop column "settings";`);
  }
}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261127225419 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "idempotency_keys" ("principal" varchar(64) not null, "key" varchar(255) not null, "request_hash" char(64) not null, "status" int null, "body" text null, "created_at" timestamptz not null, "completed_at" timestamptz null, "expires_at" timestamptz not null, constraint "idempotency_keys_pkey" primary key ("principal", "key"));`,
    );
    this.addSql(`create index "idempotency_keys_expires_idx" on "idempotency_keys" ("expires_at");`);

    this.addSql(
      `create table "api_keys" ("id" char(26) not null, "user_id" char(26) not null, "name" varchar(100) not null, "start" varchar(8) not null, "key_hash" char(64) not null, "scopes" jsonb not null, "organization_id" char(26) null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "metadata" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "revoked_at" timestamptz null, "previous_key_hash" char(64) null, "previous_key_expires_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "api_keys_user_id_index" on "api_keys" ("user_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_key_hash_unique" unique ("key_hash");`);
    this.addSql(`create index "api_keys_organization_id_index" on "api_keys" ("organization_id");`);
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_previous_key_hash_unique" unique ("previous_key_hash");`,
    );

    this.addSql(
      `alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`drop index "invites_pending_unique";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);

    this.addSql(`drop table if exists "api_keys" cascade;`);

    this.addSql(
      `CREATE UNIQUE INDEX invites_pending_unique ON public.invites USING btree (organization_id, email) WHERE ((status)::text = 'pending'::text);`,
    );
  }
}

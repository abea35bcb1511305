import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100000 extends Migration {
  override async up(): Promise<void> {
    // Access tokens revoked before they expire (RFC 7009), each kept until its own expiry.
    this.addSql(
      `create table "revoked_access_tokens" ("jti" varchar(255) not null, "expires_at" timestamptz not null, constraint "revoked_access_tokens_pkey" primary key ("jti"));`,
    );
    this.addSql(`create index "revoked_access_tokens_expires_idx" on "revoked_access_tokens" ("expires_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "revoked_access_tokens" cascade;`);
  }
}

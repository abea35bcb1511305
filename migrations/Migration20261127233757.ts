import { Migration } from '@mikro-orm/migrations';

export class Migration20261127233757 extends Migration {
  override async up(): Promise<void> {
    // Clients registered dynamically (RFC 7591) have no owner.
    this.addSql(`alter table "oauth_clients" alter column "user_id" drop not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_clients" alter column "user_id" set not null;`);
  }
}

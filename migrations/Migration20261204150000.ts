import { Migration } from '@mikro-orm/migrations';

/**
 * Tracked events per organization and calendar month (UTC), the count the monthly allowance is
 * checked against (procedures/shared/entitlements.ts): the statement that stores a batch adds it to
 * one of the month's shard rows, chosen at random, so that concurrent batches of one organization
 * rarely wait on the same row; the month's count is the sum of at most 16 rows.
 * Counted as received and never decremented: deleting a project does not give its events back.
 */
export class Migration20261204150000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "event_usage" (
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "month" date not null,
      "shard" smallint not null,
      "events" bigint not null,
      constraint "event_usage_pkey" primary key ("organization_id", "month", "shard"));`);
  }
}

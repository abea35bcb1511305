import { Migration } from '@mikro-orm/migrations';

/**
 * An Idempotency-Key remembers which request holds it (`claim_id`) and whether that request's write
 * committed (`committed_at`, set inside the write's own transaction), so that a retry after a lost
 * answer neither repeats a committed write nor waits forever on a claim whose request died.
 */
export class Migration20261203100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "idempotency_keys" add column "claim_id" char(26) null, add column "committed_at" timestamptz null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "idempotency_keys" drop column "claim_id", drop column "committed_at";`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * The rollups' bookkeeping (server/event-rollups.ts): the buckets whose rollup may be stale.
 * - Ingest appends one `hour` mark per request and hour it touched, in the statement that stores the
 *   events, so a mark commits with its events or not at all; the rollup job appends `day` marks.
 * - Append only, no unique key and no foreign key: an ingest never waits on another ingest's mark or
 *   locks a project row twice; the job deletes marks it has rolled up, and those of deleted projects.
 */
export class Migration20261204100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "event_rollup_marks" (
      "project_id" char(26) not null,
      "kind" varchar(4) not null check ("kind" in ('hour', 'day')),
      "bucket" timestamptz not null);`);
    this.addSql(
      `create index "event_rollup_marks_project_idx" on "event_rollup_marks" ("project_id", "kind", "bucket");`,
    );
    this.addSql(`create index "event_rollup_marks_bucket_idx" on "event_rollup_marks" ("kind", "bucket");`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * The public tier and analytics:
 * - a project's public sign-up forms (fields as jsonb) and what was submitted, with the submitter's
 *   address and user agent;
 * - a project's embeddable widgets; a sign-up widget names its form (the link is cleared when the form
 *   is deleted, and the widget then stops being served);
 * - the origins a project's browser calls to /public/track may come from (empty: any);
 * - tracked events, declaratively partitioned by month of `occurred_at`: the service creates the
 *   partitions ahead (server start and a daily job), so this creates only the parent. The primary key
 *   (project, occurred_at, id) is the b-tree every per-project time-range scan and page uses; a BRIN
 *   index on occurred_at serves the scans over all projects (the rollup job). No default partition:
 *   one would block creating the partition for its rows' month later.
 * - hourly and daily rollups per project, each bucket with its event count, its exact count of
 *   distinct anonymous ids, and its count per event name, so that stats read one row per bucket.
 */
export class Migration20261204090000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "projects" add column "allowed_origins" text[] not null default '{}';`);

    this.addSql(`create table "forms" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "project_id" char(26) not null references "projects" ("id") on delete cascade,
      "name" varchar(100) not null,
      "published" boolean not null default false,
      "fields" jsonb not null,
      "honeypot_field" varchar(64) not null,
      "created_by_user_id" char(26) null references "users" ("id") on delete set null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null);`);
    this.addSql(`create index "forms_organization_id_index" on "forms" ("organization_id");`);
    this.addSql(`create index "forms_project_created_idx" on "forms" ("project_id", "created_at");`);

    this.addSql(`create table "form_submissions" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "project_id" char(26) not null references "projects" ("id") on delete cascade,
      "form_id" char(26) not null references "forms" ("id") on delete cascade,
      "data" jsonb not null,
      "ip" varchar(45) not null,
      "user_agent" varchar(512) null,
      "created_at" timestamptz not null);`);
    this.addSql(`create index "form_submissions_organization_id_index" on "form_submissions" ("organization_id");`);
    this.addSql(`create index "form_submissions_project_id_index" on "form_submissions" ("project_id");`);
    this.addSql(
      `create index "form_submissions_form_created_idx" on "form_submissions" ("form_id", "created_at", "id");`,
    );

    this.addSql(`create table "widgets" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "project_id" char(26) not null references "projects" ("id") on delete cascade,
      "name" varchar(100) not null,
      "type" varchar(32) not null,
      "published" boolean not null default false,
      "config" jsonb not null,
      "form_id" char(26) null references "forms" ("id") on delete set null,
      "created_by_user_id" char(26) null references "users" ("id") on delete set null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null);`);
    this.addSql(`create index "widgets_organization_id_index" on "widgets" ("organization_id");`);
    this.addSql(`create index "widgets_project_created_idx" on "widgets" ("project_id", "created_at");`);
    this.addSql(`create index "widgets_form_id_index" on "widgets" ("form_id");`);

    this.addSql(`create table "events" (
      "id" bigserial not null,
      "organization_id" char(26) not null,
      "project_id" char(26) not null references "projects" ("id") on delete cascade,
      "name" varchar(100) not null,
      "anonymous_id" varchar(128) not null,
      "occurred_at" timestamptz not null,
      "received_at" timestamptz not null default now(),
      "properties" jsonb null,
      constraint "events_pkey" primary key ("project_id", "occurred_at", "id")
    ) partition by range ("occurred_at");`);
    this.addSql(`create index "events_occurred_at_brin" on "events" using brin ("occurred_at");`);

    for (const granularity of ['hourly', 'daily']) {
      this.addSql(`create table "event_rollups_${granularity}" (
        "project_id" char(26) not null references "projects" ("id") on delete cascade,
        "organization_id" char(26) not null,
        "bucket" timestamptz not null,
        "events" bigint not null,
        "unique_visitors" bigint not null,
        "names" jsonb not null default '{}',
        "computed_at" timestamptz not null,
        constraint "event_rollups_${granularity}_pkey" primary key ("project_id", "bucket"));`);
    }
  }
}

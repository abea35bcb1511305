import { Migration } from '@mikro-orm/migrations';

/**
 * Billing with Stripe:
 * - an organization's Stripe customer (one, made at its first checkout) and its billing details;
 * - its subscription as Stripe last told us (one row per organization; `stripe_updated_at` is the
 *   Stripe object's own time of the state kept, so an older event never overwrites a newer state);
 * - its invoices (the payment history), one row per Stripe invoice;
 * - every webhook event id applied or recorded, written in the same transaction as what it changed,
 *   so an event is applied at most once.
 */
export class Migration20261204120000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "organizations"
      add column "stripe_customer_id" varchar(255) null,
      add column "billing_email" varchar(320) null,
      add column "billing_tax_id" varchar(64) null,
      add column "billing_address" jsonb null;`);
    this.addSql(
      `create unique index "organizations_stripe_customer_unique" on "organizations" ("stripe_customer_id") where "stripe_customer_id" is not null;`,
    );

    this.addSql(`create table "subscriptions" (
      "organization_id" char(26) not null primary key references "organizations" ("id") on delete cascade,
      "stripe_subscription_id" varchar(255) not null,
      "tier" varchar(32) not null,
      "interval" varchar(8) not null,
      "seats" integer not null,
      "status" varchar(32) not null,
      "current_period_end" timestamptz null,
      "cancel_at_period_end" boolean not null default false,
      "past_due_since" timestamptz null,
      "stripe_updated_at" timestamptz not null,
      "updated_at" timestamptz not null);`);
    this.addSql(
      `create unique index "subscriptions_stripe_subscription_unique" on "subscriptions" ("stripe_subscription_id");`,
    );

    this.addSql(`create table "invoices" (
      "id" char(26) not null primary key,
      "organization_id" char(26) not null references "organizations" ("id") on delete cascade,
      "stripe_invoice_id" varchar(255) not null,
      "amount_due" bigint not null,
      "amount_paid" bigint not null,
      "currency" varchar(8) not null,
      "status" varchar(32) not null,
      "hosted_invoice_url" varchar(2048) null,
      "period_start" timestamptz null,
      "period_end" timestamptz null,
      "stripe_created_at" timestamptz not null,
      "stripe_updated_at" timestamptz not null,
      "created_at" timestamptz not null,
      constraint "invoices_stripe_invoice_unique" unique ("stripe_invoice_id"));`);
    this.addSql(
      `create index "invoices_organization_created_idx" on "invoices" ("organization_id", "stripe_created_at");`,
    );

    this.addSql(`create table "stripe_events" (
      "id" varchar(255) not null primary key,
      "type" varchar(128) not null,
      "organization_id" char(26) null references "organizations" ("id") on delete set null,
      "outcome" varchar(32) not null,
      "stripe_created_at" timestamptz not null,
      "received_at" timestamptz not null);`);
  }
}

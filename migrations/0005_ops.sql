CREATE TABLE "ops_alerts" (
	"condition" text PRIMARY KEY NOT NULL,
	"firing" boolean NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "ops_heartbeats" (
	"event_id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"sent_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ops_metrics" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"metric" text NOT NULL,
	"dim1" text DEFAULT '' NOT NULL,
	"dim2" text DEFAULT '' NOT NULL,
	"count" bigint NOT NULL,
	"total" double precision DEFAULT 0 NOT NULL,
	"max" double precision DEFAULT 0 NOT NULL,
	"histogram" integer[]
);
--> statement-breakpoint
CREATE TABLE "reconciliations" (
	"name" text PRIMARY KEY NOT NULL,
	"ran_at" timestamp with time zone NOT NULL,
	"ok" boolean NOT NULL,
	"report" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "status" text DEFAULT 'open' NOT NULL;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "ops_metrics_at_idx" ON "ops_metrics" USING btree ("at","metric");--> statement-breakpoint
CREATE INDEX "dead_letters_status_idx" ON "dead_letters" USING btree ("status");
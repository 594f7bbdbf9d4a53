CREATE TABLE "inventory_sync" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"last_started_at" timestamp with time zone,
	"last_finished_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"machines" integer,
	"gone" integer,
	CONSTRAINT "inventory_sync_single_row" CHECK ("inventory_sync"."id" = 1)
);

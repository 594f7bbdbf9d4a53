CREATE TABLE "mde_budget" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"paused_until" timestamp with time zone,
	CONSTRAINT "mde_budget_single_row" CHECK ("mde_budget"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "mde_calls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "mde_calls_at_idx" ON "mde_calls" USING btree ("at");--> statement-breakpoint
INSERT INTO "mde_budget" ("id") VALUES (1) ON CONFLICT DO NOTHING;

ALTER TABLE "lockdowns" ADD COLUMN "next_check_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lockdowns" ADD COLUMN "pending_noted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lockdowns" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lockdowns" ADD COLUMN "break_glass" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "lockdowns_next_check_idx" ON "lockdowns" USING btree ("next_check_at") WHERE state in ('pending_approval', 'approved', 'isolating', 'active', 'releasing');
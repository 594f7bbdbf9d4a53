ALTER TABLE "api_tokens" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lockdowns" ADD COLUMN "requested_via" text;--> statement-breakpoint
UPDATE "api_tokens" SET "expires_at" = "created_at" + interval '90 days' WHERE "expires_at" IS NULL;

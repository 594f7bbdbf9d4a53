-- A ticket reference on a lockdown (`--ticket INC-123`, REST `ticket`) and the link the settings'
-- template made of it when the request was made (issue #18, item 5).
ALTER TABLE "lockdowns" ADD COLUMN "ticket" text;--> statement-breakpoint
ALTER TABLE "lockdowns" ADD COLUMN "ticket_url" text;
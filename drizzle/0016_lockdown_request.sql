-- Several hosts asked for in one request (issue #18, item 2): the request's id on each of its
-- lockdowns, one lockdown per host; null for a request of one host.
ALTER TABLE "lockdowns" ADD COLUMN "request_id" text;--> statement-breakpoint
CREATE INDEX "lockdowns_request_idx" ON "lockdowns" USING btree ("request_id") WHERE "lockdowns"."request_id" is not null;
-- A request its requester has yet to confirm (a Workflow Builder step's, issue #18, item 3): not
-- shown to approvers, and not decided, until the person whose click ran the workflow confirms it.
ALTER TABLE "lockdowns" ADD COLUMN "awaiting_confirmation" boolean DEFAULT false NOT NULL;
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"scopes" text[] NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"outcome" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "host_scores" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"machine_id" text NOT NULL,
	"threat" integer NOT NULL,
	"certainty" integer NOT NULL,
	"privilege" integer NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_by" text NOT NULL,
	CONSTRAINT "host_scores_threat_range" CHECK ("host_scores"."threat" between 0 and 99),
	CONSTRAINT "host_scores_certainty_range" CHECK ("host_scores"."certainty" between 0 and 99),
	CONSTRAINT "host_scores_privilege_range" CHECK ("host_scores"."privilege" between 1 and 10)
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"machine_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"os_platform" text,
	"os_version" text,
	"ips" text[] DEFAULT '{}'::text[] NOT NULL,
	"health_status" text,
	"onboarding_status" text,
	"risk_score" text,
	"exposure_level" text,
	"device_value" text,
	"first_seen" timestamp with time zone,
	"last_seen" timestamp with time zone,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_potential_duplicate" boolean DEFAULT false NOT NULL,
	"merged_into_machine_id" text,
	"isolation_state" text DEFAULT 'not_isolated' NOT NULL,
	"isolation_source" text,
	"gone_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lockdowns" (
	"id" text PRIMARY KEY NOT NULL,
	"machine_id" text NOT NULL,
	"host_name" text NOT NULL,
	"state" text NOT NULL,
	"duration_minutes" integer NOT NULL,
	"reason" text DEFAULT '' NOT NULL,
	"requested_by" text NOT NULL,
	"approved_by" text,
	"decided_at" timestamp with time zone,
	"source" text NOT NULL,
	"mde_action_id" text,
	"mde_release_action_id" text,
	"locked_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"released_at" timestamp with time zone,
	"release_reason" text,
	"released_by" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"request_channel" text,
	"approval_channel" text,
	"approval_ts" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lockdowns_duration_preset" CHECK ("lockdowns"."duration_minutes" in (60, 120, 240, 480, 720, 1440))
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"event" text NOT NULL,
	"sink" text NOT NULL,
	"payload" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "role_bindings" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"role" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"granted_by" text NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"sealed" text NOT NULL,
	"key_id" text NOT NULL,
	"set_by" text NOT NULL,
	"set_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "settings_single_row" CHECK ("settings"."id" = 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_active_name" ON "api_tokens" USING btree ("name") WHERE revoked_at is null;--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("target_type","target_id","at");--> statement-breakpoint
CREATE INDEX "host_scores_machine_computed_idx" ON "host_scores" USING btree ("machine_id","computed_at");--> statement-breakpoint
CREATE INDEX "hosts_name_lower_idx" ON "hosts" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "hosts_name_lower_prefix_idx" ON "hosts" USING btree (lower("name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "hosts_ips_idx" ON "hosts" USING gin ("ips");--> statement-breakpoint
CREATE UNIQUE INDEX "lockdowns_one_open_per_machine" ON "lockdowns" USING btree ("machine_id") WHERE state in ('pending_approval', 'approved', 'isolating', 'active', 'releasing');--> statement-breakpoint
CREATE INDEX "lockdowns_state_expires_idx" ON "lockdowns" USING btree ("state","expires_at");--> statement-breakpoint
CREATE INDEX "lockdowns_machine_created_idx" ON "lockdowns" USING btree ("machine_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_event_sink" ON "outbox" USING btree ("event_id","sink");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("next_attempt_at") WHERE delivered_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "role_bindings_role_subject" ON "role_bindings" USING btree ("role","subject_id");
-- Settings and role bindings are read on every command; each process keeps them in memory
-- (src/db/change-feed.ts) and must hear of every change, whoever makes it: each statement that
-- changes them notifies `hostlock_changes` with the table's name, delivered when it commits.
CREATE OR REPLACE FUNCTION hostlock_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostlock_changes', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
  FOR EACH STATEMENT EXECUTE FUNCTION hostlock_notify_change();
--> statement-breakpoint
CREATE TRIGGER role_bindings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_bindings
  FOR EACH STATEMENT EXECUTE FUNCTION hostlock_notify_change();

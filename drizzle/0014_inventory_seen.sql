-- The machines the running inventory sync has listed so far: a re-sync writes only the hosts whose
-- facts changed, and tells the rest (seen, unchanged) from the gone ones by this list. It is emptied
-- when a run starts and needs no WAL: a crash or failover empties it, the run's mark row with it,
-- and markGone then marks nothing gone (the run fails and the next starts over).
CREATE UNLOGGED TABLE "inventory_seen" (
	"machine_id" text NOT NULL
);

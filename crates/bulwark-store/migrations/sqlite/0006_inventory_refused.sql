-- The reason the server last refused a host's inventory sync, as its agent reports it in the
-- heartbeat; NULL once a sync is accepted again.
ALTER TABLE hosts ADD COLUMN inventory_refused TEXT;

-- A counter bumped by every change to a template or its checks: the server caches parsed
-- checks per (template, revision), which a second-resolution timestamp could not key safely.
ALTER TABLE templates ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Export pages through completed scans by (completed_at, id), newest first.
CREATE INDEX scans_by_org_completed_id ON scans (org_id, completed_at, id);
DROP INDEX scans_by_org_completed;

-- no-transaction
-- A policy may cover every OS type without a policy of its own (os_kind 'all'): it names a
-- CIS level instead of a template. SQLite cannot drop NOT NULL in place, so the table is
-- copied, with foreign keys off while it is: dropping the old table with them on would delete
-- every override and unlink every scan from its policy.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE policies_next (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    os_kind TEXT NOT NULL,
    template_id TEXT REFERENCES templates(id),
    cis_level TEXT,
    interval_hours INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    passing_threshold DOUBLE PRECISION NOT NULL,
    schedule_type TEXT NOT NULL,
    cron TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, os_kind)
);
INSERT INTO policies_next (id, org_id, name, os_kind, template_id, interval_hours, active,
        passing_threshold, schedule_type, cron, created_at, updated_at)
    SELECT id, org_id, name, os_kind, template_id, interval_hours, active,
        passing_threshold, schedule_type, cron, created_at, updated_at FROM policies;
DROP TABLE policies;
ALTER TABLE policies_next RENAME TO policies;
COMMIT;
PRAGMA foreign_keys = ON;

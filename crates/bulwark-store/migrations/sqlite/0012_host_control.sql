-- Jobs beyond scans: host-control actions with a priority, a deadline, the action itself
-- (JSON; a password in it is sealed for the host's agent, never clear) and what the agent
-- reported (exit code and output, each stream capped by the agent).
ALTER TABLE agent_jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE agent_jobs ADD COLUMN action TEXT;
ALTER TABLE agent_jobs ADD COLUMN created_by TEXT;
ALTER TABLE agent_jobs ADD COLUMN deadline_at BIGINT;
ALTER TABLE agent_jobs ADD COLUMN started_at BIGINT;
ALTER TABLE agent_jobs ADD COLUMN finished_at BIGINT;
ALTER TABLE agent_jobs ADD COLUMN exit_code BIGINT;
ALTER TABLE agent_jobs ADD COLUMN stdout TEXT;
ALTER TABLE agent_jobs ADD COLUMN stderr TEXT;
ALTER TABLE agent_jobs ADD COLUMN output_truncated BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE agent_jobs SET status = 'succeeded' WHERE status = 'done';
CREATE INDEX agent_jobs_by_org ON agent_jobs (org_id, created_at);
CREATE INDEX agent_jobs_by_deadline ON agent_jobs (deadline_at) WHERE deadline_at IS NOT NULL;

-- Who did what, append-only: rows are inserted and never changed or removed (the triggers
-- refuse it). `org_id` is empty for account-wide actions; it is not a foreign key, so that
-- the record of an organization outlives the organization.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    org_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    detail TEXT,
    source_ip TEXT
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, at);
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- An account-wide exception (org_id NULL) waives a rule in every organization; only an
-- account-wide user creates, changes or revokes one. SQLite cannot drop NOT NULL in place, so
-- the table is copied.
CREATE TABLE exceptions_next (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    host_id TEXT REFERENCES hosts(id) ON DELETE CASCADE,
    group_id TEXT REFERENCES host_groups(id) ON DELETE CASCADE,
    expires_at BIGINT,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);
INSERT INTO exceptions_next (id, org_id, rule_id, reason, host_id, group_id, expires_at, state, created_by, created_at, ended_at)
    SELECT id, org_id, rule_id, reason, host_id, group_id, expires_at, state, created_by, created_at, ended_at FROM exceptions;
DROP TABLE exceptions;
ALTER TABLE exceptions_next RENAME TO exceptions;
CREATE INDEX exceptions_active ON exceptions (org_id, state);

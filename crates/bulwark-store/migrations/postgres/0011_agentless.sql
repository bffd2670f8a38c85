-- Agentless hosts: scanned by the server over SSH instead of by an agent.
ALTER TABLE hosts ADD COLUMN connection TEXT NOT NULL DEFAULT 'agent';

-- Named login credentials an organization's SSH hosts share. `secret` is sealed with the
-- server's secret key (never stored in clear); `public_key` is shown so an administrator can
-- install it in authorized_keys.
CREATE TABLE ssh_credentials (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret TEXT NOT NULL,
    public_key TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- How the server reaches an agentless host. `host_key` is the approved SHA256 fingerprint;
-- `offered_key` one the host presented that nobody has approved yet.
CREATE TABLE ssh_targets (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    port BIGINT NOT NULL,
    username TEXT NOT NULL,
    credential_id TEXT NOT NULL REFERENCES ssh_credentials(id),
    escalation TEXT NOT NULL,
    host_key TEXT,
    offered_key TEXT,
    checked_at BIGINT,
    check_ok BOOLEAN,
    check_report TEXT
);
CREATE INDEX ssh_targets_by_credential ON ssh_targets (credential_id);

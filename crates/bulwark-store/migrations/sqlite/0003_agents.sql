-- Agents. A host enrolled by an agent carries the agent's id and Ed25519 public key.
ALTER TABLE hosts ADD COLUMN agent_id TEXT;
ALTER TABLE hosts ADD COLUMN public_key TEXT;
ALTER TABLE hosts ADD COLUMN agent_version TEXT;
ALTER TABLE hosts ADD COLUMN kernel TEXT NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN spool_dropped BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX hosts_by_agent ON hosts (agent_id);

-- `status` now holds only the administrator's mode (active | maintenance); online, offline
-- and health are derived from the last heartbeat, which lives in its own narrow table and is
-- written in batches, never as an update of the host row on every beat.
UPDATE hosts SET status = CASE WHEN status = 'maintenance' THEN 'maintenance' ELSE 'active' END;
CREATE TABLE host_seen (
    host_id TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    last_seen_at BIGINT NOT NULL
);
INSERT INTO host_seen (host_id, last_seen_at) SELECT id, last_seen_at FROM hosts WHERE last_seen_at IS NOT NULL;
ALTER TABLE hosts DROP COLUMN last_seen_at;

-- Nonces of signed agent requests, kept while their timestamp could still be accepted.
CREATE TABLE agent_nonces (
    agent_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, nonce)
);
CREATE INDEX agent_nonces_by_expiry ON agent_nonces (expires_at);

-- Work for agents, delivered at least once: queued → delivered (leased) → done | failed |
-- cancelled; a delivered job whose lease ran out is delivered again.
CREATE TABLE agent_jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    scan_id TEXT REFERENCES scans(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    lease_until BIGINT,
    deliveries BIGINT NOT NULL DEFAULT 0,
    message TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agent_jobs_by_host ON agent_jobs (host_id, status);
CREATE INDEX agent_jobs_by_scan ON agent_jobs (scan_id);

-- The server's own key pairs (the job-signing key), shared by every replica.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The agent feature kill switch: org_id '' is account-wide; an organization's row wins.
CREATE TABLE feature_flags (
    org_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, feature)
);

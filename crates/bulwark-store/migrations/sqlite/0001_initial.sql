-- Bulwark's schema on SQLite. Ids are text (UUIDs or content ids); times are Unix seconds.
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    all_orgs BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_orgs (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, org_id)
);

CREATE TABLE credentials (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_user ON login_failures (username, at);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    framework TEXT NOT NULL,
    os_kind TEXT NOT NULL,
    version TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    is_system BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    content_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE template_checks (
    template_id TEXT NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    check_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (template_id, check_id)
);

CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    os_kind TEXT NOT NULL,
    os_id TEXT NOT NULL,
    os_version TEXT NOT NULL,
    status TEXT NOT NULL,
    last_seen_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX hosts_by_org ON hosts (org_id, os_kind);

CREATE TABLE host_inventory (
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    hash TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (host_id, category)
);

CREATE TABLE host_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    parent_id TEXT REFERENCES host_groups(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE host_group_members (
    group_id TEXT NOT NULL REFERENCES host_groups(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, host_id)
);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    os_kind TEXT NOT NULL,
    template_id TEXT NOT NULL REFERENCES templates(id),
    interval_hours INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    passing_threshold DOUBLE PRECISION NOT NULL,
    schedule_type TEXT NOT NULL,
    cron TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, os_kind)
);

CREATE TABLE policy_overrides (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    template_id TEXT NOT NULL REFERENCES templates(id),
    created_at BIGINT NOT NULL,
    UNIQUE (policy_id, host_id)
);

CREATE TABLE exceptions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
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
CREATE INDEX exceptions_active ON exceptions (org_id, state);

CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    policy_id TEXT REFERENCES policies(id) ON DELETE SET NULL,
    template_id TEXT NOT NULL,
    template_name TEXT NOT NULL,
    framework TEXT NOT NULL,
    os_kind TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    score DOUBLE PRECISION,
    weighted_score DOUBLE PRECISION,
    risk TEXT,
    passed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    waived INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    passing_threshold DOUBLE PRECISION NOT NULL,
    summary TEXT,
    message TEXT
);
CREATE INDEX scans_by_org_status ON scans (org_id, status, created_at);
CREATE INDEX scans_by_org_completed ON scans (org_id, completed_at);
CREATE INDEX scans_by_policy_completed ON scans (policy_id, completed_at);
CREATE INDEX scans_by_host ON scans (host_id, created_at);

CREATE TABLE scan_results (
    scan_id TEXT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    actual TEXT,
    expected TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (scan_id, check_id)
);

-- Latest completed scan per host and policy: worst hosts, risk distribution, hosts scanned.
CREATE TABLE host_compliance (
    host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    score DOUBLE PRECISION,
    risk TEXT NOT NULL,
    passing BOOLEAN NOT NULL,
    completed_at BIGINT NOT NULL,
    PRIMARY KEY (host_id, policy_id)
);
CREATE INDEX host_compliance_by_org ON host_compliance (org_id, score);

-- Per-day totals kept at ingest so that trends and dashboard totals never scan all scans.
CREATE TABLE scan_daily (
    org_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    scans BIGINT NOT NULL,
    scored BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    passed BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    PRIMARY KEY (org_id, policy_id, day)
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    host_id TEXT,
    scan_id TEXT,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_by_org ON notifications (org_id, created_at);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

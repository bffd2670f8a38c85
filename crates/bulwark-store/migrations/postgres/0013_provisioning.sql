-- The provisioning gate: an organization's compliance settings for freshly provisioned
-- machines, the machines its provisioning runs report with their scan and handover decision,
-- and the Terraform run tasks waiting for their callback.

CREATE TABLE compliance_settings (
    org_id TEXT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    -- The settings as JSON (bulwark_core::provisioning::ComplianceSettings).
    settings TEXT NOT NULL,
    -- Sealed with the server's secret key: the HMAC key of Terraform run tasks, the token of
    -- Terraform notifications, and an API token to read a workspace's outputs with.
    run_task_key TEXT,
    notification_token TEXT,
    terraform_token TEXT,
    -- The last cron firing whose scans were created.
    scheduled_at BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE provisioned_vms (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    provider TEXT NOT NULL,
    tf_organization TEXT,
    workspace TEXT,
    project TEXT,
    run_id TEXT NOT NULL,
    address TEXT NOT NULL,
    port BIGINT NOT NULL,
    hostname TEXT NOT NULL,
    host_key TEXT,
    created_at BIGINT NOT NULL,
    host_id TEXT REFERENCES hosts(id) ON DELETE SET NULL,
    scan_id TEXT REFERENCES scans(id) ON DELETE SET NULL,
    run_task_id TEXT,
    status TEXT NOT NULL,
    exempted BOOLEAN NOT NULL DEFAULT FALSE,
    failure TEXT,
    enforcement_mode TEXT NOT NULL,
    profile TEXT NOT NULL,
    min_score DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION,
    critical_failures BIGINT,
    high_failures BIGINT,
    medium_failures BIGINT,
    low_failures BIGINT,
    passed BIGINT,
    failed BIGINT,
    errors BIGINT,
    not_applicable BIGINT,
    handover_blocked BOOLEAN NOT NULL DEFAULT FALSE,
    block_reason TEXT,
    released_by TEXT,
    released_at BIGINT,
    release_reason TEXT,
    finished_at BIGINT,
    -- One record per machine and run: a replayed delivery finds the first.
    UNIQUE (org_id, run_id, address)
);
CREATE INDEX provisioned_vms_by_org ON provisioned_vms (org_id, created_at);
CREATE INDEX provisioned_vms_unsettled ON provisioned_vms (status);
CREATE INDEX provisioned_vms_by_run_task ON provisioned_vms (run_task_id);

CREATE TABLE terraform_run_tasks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    task_result_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    workspace TEXT,
    callback_url TEXT NOT NULL,
    -- The run's bearer token for the callback, sealed.
    access_token TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    -- How many machines the run reported; none while they are being read.
    machines BIGINT,
    -- The status last sent: running, passed or failed; none yet.
    reported TEXT,
    reported_at BIGINT,
    message TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (org_id, task_result_id)
);
CREATE INDEX terraform_run_tasks_open ON terraform_run_tasks (done);

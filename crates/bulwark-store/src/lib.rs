//! Bulwark's storage. Narrow traits per area (accounts, templates, policies, hosts, agents,
//! exceptions, scans, reports, notifications, leases) that the server uses through
//! `Arc<dyn Store>`; one SQL implementation whose queries run unchanged on SQLite and
//! PostgreSQL (see [`db`]), with migrations per backend.
//!
//! Tenancy lives here: every method on an organization's objects takes the caller's
//! [`Scope`], and an object outside it is `NotFound`, exactly like a missing one.

pub mod db;
mod error;
mod model;
mod sql;
#[doc(hidden)]
pub mod testing;

pub use error::{Result, StoreError};
pub use model::*;

use std::sync::Arc;

use async_trait::async_trait;
use bulwark_core::{Check, Role, ScoreSummary, Template};

/// Opens the database a URL names and applies its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(sql::SqlStore::new(db::Db::connect(url).await?)))
}

/// Wraps an already opened database (tests open PostgreSQL in a schema of their own).
pub fn from_db(db: db::Db) -> Arc<dyn Store> {
    Arc::new(sql::SqlStore::new(db))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A new id: a random UUID, so that the first characters the scan list shows tell scans
/// apart (time-ordered UUIDs share their first characters for a minute).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_org(&self, name: &str, secret_hash: &str) -> Result<Org>;
    async fn list_orgs(&self, scope: &Scope) -> Result<Vec<Org>>;
    async fn get_org(&self, scope: &Scope, id: &str) -> Result<Org>;
    async fn set_org_secret(&self, scope: &Scope, id: &str, secret_hash: &str) -> Result<()>;
    async fn org_by_secret(&self, secret_hash: &str) -> Result<Option<Org>>;
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        orgs: Option<&[String]>,
    ) -> Result<User>;
    async fn list_users(&self, scope: &Scope) -> Result<Vec<User>>;
    /// The user and their password hash.
    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>>;
    async fn add_credential(
        &self,
        user_id: &str,
        token_hash: &str,
        kind: CredentialKind,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<()>;
    async fn user_by_credential(&self, token_hash: &str, now: i64) -> Result<Option<User>>;
    async fn delete_credential(&self, token_hash: &str) -> Result<()>;
    /// Records a failed login, and forgets failures before `forget_before`.
    async fn record_login_failure(
        &self,
        username: &str,
        source: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<()>;
    /// Failed logins since `since` for a user name and from a source address.
    async fn login_pressure(
        &self,
        username: &str,
        source: &str,
        since: i64,
    ) -> Result<LoginPressure>;
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Inserts or refreshes a shipped template; returns whether anything changed.
    async fn sync_system_template(&self, template: &Template, content_hash: &str) -> Result<bool>;
    async fn list_templates(
        &self,
        scope: &Scope,
        filter: &TemplateFilter,
    ) -> Result<Vec<TemplateSummary>>;
    async fn get_template(&self, scope: &Scope, id: &str) -> Result<TemplateSummary>;
    async fn template_checks(&self, scope: &Scope, id: &str) -> Result<Vec<TemplateCheck>>;
    async fn copy_template(
        &self,
        scope: &Scope,
        id: &str,
        name: &str,
        org_id: &str,
    ) -> Result<TemplateSummary>;
    /// Enables or disables checks of a custom template; returns how many changed.
    async fn set_checks_enabled(
        &self,
        scope: &Scope,
        id: &str,
        check_ids: &[String],
        enabled: bool,
    ) -> Result<u64>;
    async fn update_check(&self, scope: &Scope, id: &str, check: &Check) -> Result<()>;
    async fn add_check(&self, scope: &Scope, id: &str, check: &Check) -> Result<()>;
    /// Removes a check from a custom template.
    async fn delete_check(&self, scope: &Scope, id: &str, check_id: &str) -> Result<()>;
    async fn delete_template(&self, scope: &Scope, id: &str) -> Result<()>;
    async fn set_template_active(&self, scope: &Scope, id: &str, active: bool) -> Result<()>;
}

/// SCAP content and the files scans produce. Bodies are kept zstd-compressed.
#[async_trait]
pub trait ScapStore: Send + Sync {
    /// Keeps the data stream under the digest its engine names (once: importing the same file
    /// again stores nothing new) and creates the organization's template that runs it, with
    /// its checks, in one transaction.
    async fn import_scap_template(
        &self,
        scope: &Scope,
        org_id: &str,
        template: &Template,
        file_name: &str,
        xml: &[u8],
    ) -> Result<TemplateSummary>;
    async fn datastream(&self, digest: &str) -> Result<Option<Datastream>>;
    /// The data stream's bytes for an agent's host: only when a template the host's
    /// organization sees runs it (another tenant's content looks missing).
    async fn datastream_for_host(&self, host_id: &str, digest: &str) -> Result<Vec<u8>>;
    /// Keeps a file a scan produced (e.g. `arf`), given zstd-compressed; replaces an earlier one.
    async fn store_artifact(&self, scan_id: &str, kind: &str, zstd_body: &[u8]) -> Result<()>;
    /// The file, decompressed, if the scope sees the scan and the file exists.
    async fn artifact(&self, scope: &Scope, scan_id: &str, kind: &str) -> Result<Option<Vec<u8>>>;
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn create_policy(&self, scope: &Scope, policy: &Policy) -> Result<Policy>;
    async fn list_policies(&self, scope: &Scope) -> Result<Vec<Policy>>;
    async fn active_policies(&self) -> Result<Vec<Policy>>;
    async fn get_policy(&self, scope: &Scope, id: &str) -> Result<Policy>;
    async fn update_policy(&self, scope: &Scope, policy: &Policy) -> Result<Policy>;
    async fn delete_policy(&self, scope: &Scope, id: &str) -> Result<()>;
    async fn add_override(
        &self,
        scope: &Scope,
        policy_id: &str,
        host_id: &str,
        template_id: &str,
    ) -> Result<PolicyOverride>;
    async fn list_overrides(&self, scope: &Scope, policy_id: &str) -> Result<Vec<PolicyOverride>>;
    async fn delete_override(
        &self,
        scope: &Scope,
        policy_id: &str,
        override_id: &str,
    ) -> Result<()>;
    async fn override_for(&self, policy_id: &str, host_id: &str) -> Result<Option<PolicyOverride>>;
}

#[async_trait]
pub trait HostStore: Send + Sync {
    async fn create_host(&self, host: &NewHost) -> Result<Host>;
    async fn get_host(&self, scope: &Scope, id: &str) -> Result<Host>;
    async fn host_by_agent_id(&self, scope: &Scope, agent_id: &str) -> Result<Host>;
    async fn list_hosts(&self, scope: &Scope) -> Result<Vec<Host>>;
    async fn set_maintenance(&self, scope: &Scope, id: &str, maintenance: bool) -> Result<()>;
    /// Removes a host with its scans and jobs; its agent must enroll again.
    async fn delete_host(&self, scope: &Scope, id: &str) -> Result<()>;
    /// Stores changed inventory categories (name, hash, value) in one transaction.
    async fn store_inventory(
        &self,
        host_id: &str,
        categories: &[(String, String, serde_json::Value)],
    ) -> Result<()>;
    async fn inventory(&self, host_id: &str, category: &str) -> Result<Option<serde_json::Value>>;
    /// The hash of every category the server holds for a host.
    async fn inventory_hashes(&self, host_id: &str) -> Result<Vec<(String, String)>>;
    async fn create_group(
        &self,
        scope: &Scope,
        org_id: &str,
        name: &str,
        parent_id: Option<&str>,
    ) -> Result<HostGroup>;
    async fn list_groups(&self, scope: &Scope) -> Result<Vec<HostGroup>>;
    async fn add_group_member(&self, scope: &Scope, group_id: &str, host_id: &str) -> Result<()>;
    /// Ids of the hosts in a group or any group below it.
    async fn group_hosts(&self, scope: &Scope, group_id: &str) -> Result<Vec<String>>;
    /// The host's groups and all their ancestors.
    async fn groups_of_host(&self, host_id: &str) -> Result<Vec<String>>;
}

/// Agents: enrollment, request nonces, heartbeats, jobs, the server's signing key and the
/// feature kill switch.
#[async_trait]
pub trait AgentStore: Send + Sync {
    async fn enroll(&self, org_id: &str, enrollment: &Enrollment) -> Result<Enrolled>;
    async fn agent(&self, agent_id: &str) -> Result<Option<AgentIdentity>>;
    /// Remembers request nonces until they expire, in one write. For each, in order: true when
    /// it is new, false when it was used before (or earlier in the same batch).
    async fn use_nonces(&self, uses: &[NonceUse]) -> Result<Vec<bool>>;
    /// Makes one used nonce usable again (a form whose submission failed).
    async fn forget_nonce(&self, agent_id: &str, nonce: &str) -> Result<()>;
    /// Forgets the nonces that expired before `now`, a few hundred per transaction; answers
    /// how many.
    async fn prune_nonces(&self, now: i64) -> Result<u64>;
    /// Last heartbeat times, written together.
    async fn record_seen(&self, seen: &[(String, i64)]) -> Result<()>;
    /// Records a new agent version and the last inventory refusal it reports, and adds to the
    /// host's dropped-spool count.
    async fn update_agent(
        &self,
        host_id: &str,
        agent_version: &str,
        spool_dropped: i64,
        inventory_refused: Option<&str>,
    ) -> Result<()>;
    /// The host row's copy of the system inventory (hostname, OS, kernel).
    async fn update_host_system(
        &self,
        host_id: &str,
        hostname: &str,
        os_id: &str,
        os_version: &str,
        kernel: &str,
    ) -> Result<()>;
    /// Jobs waiting for the host: queued, or delivered with an expired lease.
    async fn pending_jobs(&self, host_id: &str, now: i64) -> Result<i64>;
    /// Leases up to `limit` pending jobs to the host until `now + lease_secs`.
    async fn claim_jobs(
        &self,
        host_id: &str,
        now: i64,
        lease_secs: i64,
        limit: i64,
    ) -> Result<Vec<AgentJob>>;
    /// The agent started the job: it (and its scan) is running.
    async fn ack_job(&self, host_id: &str, job_id: &str, now: i64) -> Result<AgentJob>;
    /// The agent could not run the job: it and its scan fail with the reason.
    async fn fail_job(
        &self,
        host_id: &str,
        job_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<AgentJob>;
    /// Jobs delivered `max_deliveries` times whose last lease ran out fail, with their scans.
    async fn abandon_jobs(&self, now: i64, max_deliveries: i64) -> Result<u64>;
    /// The named key pair (secret, public); `candidate` is stored when there is none yet, so
    /// every replica ends up with the first one written.
    async fn server_key(&self, name: &str, candidate: (&str, &str)) -> Result<(String, String)>;
    /// `org_id` None: the account-wide flag (needs a scope over all organizations).
    async fn set_feature_flag(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
        feature: &str,
        enabled: bool,
    ) -> Result<FeatureFlag>;
    async fn delete_feature_flag(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
        feature: &str,
    ) -> Result<()>;
    async fn list_feature_flags(&self, scope: &Scope) -> Result<Vec<FeatureFlag>>;
    /// The account-wide flags and the organization's own.
    async fn feature_flags_for(&self, org_id: &str) -> Result<Vec<FeatureFlag>>;
}

/// Host-control jobs as operators see them, fleet-wide or per host, and their lifecycle
/// beyond delivery (the agent's report, cancellation, expiry at the deadline).
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a host-control action for an agent host of the scope.
    async fn create_job(&self, scope: &Scope, job: &NewJob) -> Result<AgentJob>;
    async fn get_job(&self, scope: &Scope, id: &str) -> Result<AgentJob>;
    /// Newest first; a `host_id` outside the scope is `NotFound`.
    async fn list_jobs(&self, scope: &Scope, filter: &JobFilter) -> Result<Vec<AgentJob>>;
    /// A queued or delivered job is cancelled (with its scan); a running or finished one
    /// answers `Conflict`.
    async fn cancel_job(&self, scope: &Scope, id: &str, now: i64) -> Result<AgentJob>;
    /// The agent's report of a host-control job; a job already finished answers `Conflict`.
    async fn finish_job(
        &self,
        host_id: &str,
        job_id: &str,
        outcome: &JobOutcome,
        now: i64,
    ) -> Result<AgentJob>;
    /// Jobs past their deadline that did not finish expire (with their scans); answers how many.
    async fn expire_jobs(&self, now: i64) -> Result<u64>;
}

/// The audit log: appended to, read, never changed.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Newest first, within the scope's organizations (and the account-wide entries for a
    /// caller who sees every organization).
    async fn list_audit(&self, scope: &Scope, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}

#[async_trait]
pub trait ExceptionStore: Send + Sync {
    async fn create_exception(&self, scope: &Scope, exception: &NewException) -> Result<Exception>;
    async fn list_exceptions(
        &self,
        scope: &Scope,
        state: Option<ExceptionState>,
    ) -> Result<Vec<Exception>>;
    async fn get_exception(&self, scope: &Scope, id: &str) -> Result<Exception>;
    /// Active → revoked; a revoked or expired exception answers `Conflict`.
    async fn revoke_exception(&self, scope: &Scope, id: &str, now: i64) -> Result<Exception>;
    /// A new reason and expiry for an active exception; others answer `Conflict`.
    async fn update_exception(
        &self,
        scope: &Scope,
        id: &str,
        reason: &str,
        expires_at: Option<i64>,
    ) -> Result<Exception>;
    /// Active exceptions whose expiry has passed become expired; returns how many.
    async fn expire_exceptions(&self, now: i64) -> Result<u64>;
    async fn active_exceptions(&self, org_id: &str, now: i64) -> Result<Vec<Exception>>;
}

#[async_trait]
pub trait ScanStore: Send + Sync {
    async fn create_scan(&self, scope: &Scope, scan: &NewScan) -> Result<Scan>;
    async fn get_scan(&self, scope: &Scope, id: &str) -> Result<Scan>;
    async fn list_scans(&self, scope: &Scope, filter: &ScanFilter) -> Result<Vec<Scan>>;
    async fn mark_scan_running(&self, id: &str, now: i64) -> Result<()>;
    async fn cancel_scan(&self, scope: &Scope, id: &str, now: i64) -> Result<Scan>;
    async fn fail_scan(&self, id: &str, message: &str, now: i64) -> Result<()>;
    /// Stores a scan's final results, scores and rollups in one transaction. A scan that is
    /// already finished is left as it is (`AlreadyFinished`), so a retry never counts twice.
    async fn complete_scan(
        &self,
        id: &str,
        results: &[ScanResult],
        summary: &ScoreSummary,
        now: i64,
    ) -> Result<Completion>;
    async fn scan_results(
        &self,
        scope: &Scope,
        id: &str,
        status: Option<bulwark_core::Status>,
    ) -> Result<Vec<ScanResult>>;
    /// Hosts the policy covers (see [`Policy`]: its OS type, or for `all` each OS type without
    /// a policy of its own) whose last completed scan for the policy
    /// is older than `before` (or that were never scanned), that are online as of `now` and
    /// not in maintenance, and that have no unfinished scan.
    async fn hosts_due(
        &self,
        policy: &Policy,
        before: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Host>>;
    /// The host's latest completed scan (the one the dashboard counts for it).
    async fn latest_scan(&self, scope: &Scope, host_id: &str) -> Result<Option<Scan>>;
    async fn host_history(&self, scope: &Scope, host_id: &str, limit: i64) -> Result<Vec<Scan>>;
    /// Every visible host's latest completed scan, as the dashboard counts it: its score and
    /// when it completed (hosts never scanned are absent).
    async fn latest_scores(&self, scope: &Scope) -> Result<Vec<LatestScore>>;
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn dashboard(&self, scope: &Scope, org_id: Option<&str>) -> Result<Dashboard>;
    async fn trends(
        &self,
        scope: &Scope,
        days: i64,
        policy_id: Option<&str>,
        now: i64,
    ) -> Result<Trends>;
    /// One batch of completed scans for export, newest first, after the keyset `after`
    /// (`completed_at`, `id`) of the previous batch.
    async fn export_batch(
        &self,
        scope: &Scope,
        filter: &ExportFilter,
        after: Option<(i64, String)>,
        batch: i64,
    ) -> Result<Vec<Scan>>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    async fn add_notification(&self, n: &Notification) -> Result<()>;
    async fn list_notifications(&self, scope: &Scope, limit: i64) -> Result<Vec<Notification>>;
    async fn add_webhook(
        &self,
        scope: &Scope,
        org_id: &str,
        url: &str,
        secret: &str,
    ) -> Result<Webhook>;
    async fn list_webhooks(&self, scope: &Scope, org_id: &str) -> Result<Vec<Webhook>>;
}

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews the named lease for `holder` for `ttl_secs`, judged by the database's
    /// clock; returns whether `holder` holds it now.
    async fn try_lease(&self, name: &str, holder: &str, ttl_secs: i64) -> Result<bool>;
}

/// Everything the server needs from storage.
/// Agentless hosts: their SSH logins (named, shared, sealed) and connections.
#[async_trait]
pub trait SshStore: Send + Sync {
    async fn create_ssh_credential(
        &self,
        scope: &Scope,
        credential: &NewSshCredential,
    ) -> Result<SshCredential>;
    async fn list_ssh_credentials(&self, scope: &Scope) -> Result<Vec<SshCredential>>;
    /// Refused (`Conflict`) while a host logs in with it.
    async fn delete_ssh_credential(&self, scope: &Scope, id: &str) -> Result<()>;
    /// The credential and its sealed secret, for the server's own SSH sessions only.
    async fn sealed_ssh_secret(&self, id: &str) -> Result<(SshCredential, String)>;
    /// Registers a host the server scans over SSH with a credential of the same organization.
    async fn create_ssh_host(&self, scope: &Scope, host: &NewSshHost) -> Result<Host>;
    async fn ssh_target(&self, scope: &Scope, host_id: &str) -> Result<SshTarget>;
    /// Records a check; a successful one counts as the host being seen.
    async fn record_ssh_check(&self, host_id: &str, check: &SshCheckRecord, now: i64)
    -> Result<()>;
    /// Approves the key the host offered; `fingerprint` must be that key, so an approval
    /// never covers a key the approver did not see.
    async fn approve_host_key(
        &self,
        scope: &Scope,
        host_id: &str,
        fingerprint: &str,
    ) -> Result<SshTarget>;
    /// Delivers pending jobs of agentless hosts to this replica's SSH workers, each under a
    /// lease like an agent's; another replica never gets the same one.
    async fn claim_ssh_jobs(&self, now: i64, lease_secs: i64, limit: i64) -> Result<Vec<AgentJob>>;
    /// Agentless hosts not checked since `before` (never checked first).
    async fn ssh_hosts_due_check(&self, before: i64, limit: i64) -> Result<Vec<String>>;
}

/// The provisioning gate: settings per organization, the machines provisioning runs report,
/// and Terraform run tasks awaiting their callback.
#[async_trait]
pub trait ProvisioningStore: Send + Sync {
    async fn compliance_settings(
        &self,
        scope: &Scope,
        org_id: &str,
    ) -> Result<Option<StoredComplianceSettings>>;
    /// Replaces the settings and applies the secret changes, in one write.
    async fn put_compliance_settings(
        &self,
        scope: &Scope,
        org_id: &str,
        settings: &bulwark_core::provisioning::ComplianceSettings,
        secrets: &SealedSecretUpdates,
        by: &str,
        at: i64,
    ) -> Result<StoredComplianceSettings>;
    /// A sealed secret, for the server's own use (verifying a delivery, calling Terraform).
    async fn sealed_provisioning_secret(
        &self,
        org_id: &str,
        which: ProvisioningSecret,
    ) -> Result<Option<String>>;
    /// Enabled settings with a scan schedule, every organization.
    async fn scheduled_compliance(&self) -> Result<Vec<StoredComplianceSettings>>;
    async fn mark_compliance_scheduled(&self, org_id: &str, at: i64) -> Result<()>;

    /// Records a machine; a machine already recorded for the same run and address is
    /// answered instead (`false`: not new), so a replayed delivery changes nothing.
    async fn record_provisioned_vm(
        &self,
        scope: &Scope,
        vm: &NewProvisionedVm,
    ) -> Result<(ProvisionedVm, bool)>;
    async fn get_provisioned_vm(&self, scope: &Scope, id: &str) -> Result<ProvisionedVm>;
    async fn list_provisioned_vms(
        &self,
        scope: &Scope,
        filter: &ProvisionedVmFilter,
    ) -> Result<Vec<ProvisionedVm>>;
    async fn provisioning_overview(
        &self,
        scope: &Scope,
        org_id: Option<&str>,
    ) -> Result<ProvisioningOverview>;
    /// The machine's scan started: its host, and the scan once it exists.
    async fn start_provisioned_vm(
        &self,
        id: &str,
        host_id: Option<&str>,
        scan_id: Option<&str>,
    ) -> Result<()>;
    /// Ends the machine's scan, once: answers false when it had already ended.
    async fn settle_provisioned_vm(&self, id: &str, settlement: &VmSettlement) -> Result<bool>;
    /// Machines whose scan is under way (to settle when it ends).
    async fn unsettled_provisioned_vms(&self, limit: i64) -> Result<Vec<ProvisionedVm>>;
    /// Unfinished machines recorded before `before` that never got a scan: the replica
    /// starting them stopped.
    async fn stalled_provisioned_vms(&self, before: i64, limit: i64) -> Result<Vec<ProvisionedVm>>;
    /// Releases a held machine's handover; `Conflict` unless it is held.
    async fn release_provisioned_vm(
        &self,
        scope: &Scope,
        id: &str,
        by: &str,
        reason: &str,
        at: i64,
    ) -> Result<ProvisionedVm>;
    /// The latest record of each provisioned host of the organization (for scheduled scans).
    async fn provisioned_hosts(&self, org_id: &str) -> Result<Vec<ProvisionedVm>>;

    /// Records a run task; one already recorded under the same task result id is answered
    /// instead (`false`).
    async fn record_run_task(&self, scope: &Scope, task: &NewRunTask) -> Result<(RunTask, bool)>;
    async fn open_run_tasks(&self, limit: i64) -> Result<Vec<RunTask>>;
    /// The run's bearer token for the callback, sealed.
    async fn sealed_run_task_token(&self, id: &str) -> Result<String>;
    async fn run_task_vms(&self, run_task_id: &str) -> Result<Vec<ProvisionedVm>>;
    /// The run's machines were read: how many there are.
    async fn run_task_machines(&self, id: &str, machines: i64) -> Result<()>;
    async fn run_task_reported(&self, id: &str, report: &RunTaskReport) -> Result<()>;
}

pub trait Store:
    AccountStore
    + TemplateStore
    + PolicyStore
    + HostStore
    + ExceptionStore
    + ScanStore
    + ReportStore
    + NotificationStore
    + LeaseStore
    + AgentStore
    + ScapStore
    + SshStore
    + JobStore
    + AuditStore
    + ProvisioningStore
{
}

impl<T> Store for T where
    T: AccountStore
        + TemplateStore
        + PolicyStore
        + HostStore
        + ExceptionStore
        + ScanStore
        + ReportStore
        + NotificationStore
        + LeaseStore
        + AgentStore
        + ScapStore
        + SshStore
        + JobStore
        + AuditStore
        + ProvisioningStore
{
}

//! The records the store keeps and returns. Times are Unix seconds; ids are UUID text, except
//! system templates, whose id is the shipped content's id.

use bulwark_core::{CheckOutcome, Framework, OsKind, Risk, Role, Severity, Status};
use serde::{Deserialize, Serialize};

/// The organizations a caller may see. Every store method that touches an organization's
/// objects takes one, and answers `NotFound` for objects outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Orgs(Vec<String>),
}

impl Scope {
    pub fn allows(&self, org_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Orgs(orgs) => orgs.iter().any(|o| o == org_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    /// Account-wide users see every organization; the others see `orgs`.
    pub all_orgs: bool,
    pub orgs: Vec<String>,
    pub created_at: i64,
}

impl User {
    pub fn scope(&self) -> Scope {
        if self.all_orgs {
            Scope::All
        } else {
            Scope::Orgs(self.orgs.clone())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Session,
    ApiToken,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::ApiToken => "api_token",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct TemplateSummary {
    pub id: String,
    /// `None` for system templates.
    pub org_id: Option<String>,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub framework: Framework,
    #[sqlx(try_from = "String")]
    pub os_kind: OsKind,
    pub version: String,
    pub benchmark: String,
    pub is_system: bool,
    pub active: bool,
    pub check_count: i64,
    /// Bumped by every change to the template or its checks.
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// How agents evaluate the checks: `native`, or `oscap` with the SCAP content it runs.
    #[sqlx(try_from = "Option<String>", rename = "scap_source")]
    pub engine: StoredEngine,
    /// The template this one was copied from (copies are `custom`).
    pub copied_from: Option<String>,
}

impl TemplateSummary {
    pub fn engine(&self) -> &bulwark_core::Engine {
        &self.engine.0
    }
}

/// A template's engine as the `scap_source` column keeps it: NULL for native, else the
/// [`bulwark_core::ScapSource`] in JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct StoredEngine(pub bulwark_core::Engine);

impl TryFrom<Option<String>> for StoredEngine {
    type Error = serde_json::Error;

    fn try_from(column: Option<String>) -> std::result::Result<Self, Self::Error> {
        Ok(StoredEngine(match column {
            None => bulwark_core::Engine::Native,
            Some(json) => bulwark_core::Engine::Oscap(serde_json::from_str(&json)?),
        }))
    }
}

/// An imported SCAP source data stream, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Datastream {
    /// SHA-256 of the file, hex.
    pub digest: String,
    pub file_name: String,
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TemplateCheck {
    pub position: i64,
    pub enabled: bool,
    /// The check runs a program on the host (see `Check::runs_commands`); derived, never
    /// read from a request.
    #[serde(default, skip_deserializing)]
    pub runs_commands: bool,
    #[serde(flatten)]
    pub check: bulwark_core::Check,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TemplateFilter {
    /// `Some(true)`: system templates only; `Some(false)`: custom only.
    pub system: Option<bool>,
    pub framework: Option<Framework>,
    pub os_kind: Option<OsKind>,
}

bulwark_core::text_enum! {
    /// How a policy's scans fall due: every `interval_hours`, at a cron schedule, or only on
    /// demand.
    pub enum ScheduleType as "schedule type" {
        Continuous = "continuous",
        Scheduled = "scheduled",
        Manual = "manual",
    }
}

bulwark_core::text_enum! {
    /// The hosts a policy covers: those of one OS type, or (`all`) those of every OS type
    /// that has no policy of its own in the organization.
    pub enum PolicyTarget as "policy target" {
        Linux = "linux",
        Windows = "windows",
        Darwin = "darwin",
        All = "all",
    }
}

impl PolicyTarget {
    /// The one OS type covered, or `None` for `all`.
    pub fn os(self) -> Option<OsKind> {
        match self {
            PolicyTarget::Linux => Some(OsKind::Linux),
            PolicyTarget::Windows => Some(OsKind::Windows),
            PolicyTarget::Darwin => Some(OsKind::Darwin),
            PolicyTarget::All => None,
        }
    }
}

impl From<OsKind> for PolicyTarget {
    fn from(os: OsKind) -> Self {
        match os {
            OsKind::Linux => PolicyTarget::Linux,
            OsKind::Windows => PolicyTarget::Windows,
            OsKind::Darwin => PolicyTarget::Darwin,
        }
    }
}

bulwark_core::text_enum! {
    /// A CIS benchmark level; a policy over every OS type binds, for each host, the shipped
    /// template of its level written for the host's OS.
    pub enum CisLevel as "CIS level" {
        Level1 = "level_1",
        Level2 = "level_2",
    }
}

impl CisLevel {
    /// The framework of the shipped templates of this level.
    pub fn framework(self) -> Framework {
        match self {
            CisLevel::Level1 => Framework::CisLevel1,
            CisLevel::Level2 => Framework::CisLevel2,
        }
    }
}

/// A policy: which template judges which hosts of an organization, and when.
///
/// Invariant (kept by the API's validation): a policy for one OS type names its
/// `template_id`; a policy for `all` names its `cis_level` and no template, and each host
/// it covers is judged by the shipped template of that level for the host's OS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Policy {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub os_kind: PolicyTarget,
    pub template_id: Option<String>,
    #[sqlx(try_from = "crate::db::NullableText")]
    pub cis_level: Option<CisLevel>,
    pub interval_hours: i64,
    pub active: bool,
    pub passing_threshold: f64,
    #[sqlx(try_from = "String")]
    pub schedule_type: ScheduleType,
    pub cron: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The score a scan must reach to pass when no policy says otherwise.
pub const DEFAULT_PASSING_THRESHOLD: f64 = 80.0;

impl Policy {
    /// A policy with the first seed's defaults (daily, continuous, active, passing at 80),
    /// before the store gives it an id and times.
    pub fn draft(org_id: &str, name: &str, os_kind: OsKind, template_id: &str) -> Policy {
        Policy {
            id: String::new(),
            org_id: org_id.into(),
            name: name.into(),
            os_kind: os_kind.into(),
            template_id: Some(template_id.into()),
            cis_level: None,
            interval_hours: 24,
            active: true,
            passing_threshold: DEFAULT_PASSING_THRESHOLD,
            schedule_type: ScheduleType::Continuous,
            cron: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    /// A policy over every OS type without a policy of its own, at a CIS level.
    pub fn draft_for_every_os(org_id: &str, name: &str, level: CisLevel) -> Policy {
        Policy {
            os_kind: PolicyTarget::All,
            template_id: None,
            cis_level: Some(level),
            ..Policy::draft(org_id, name, OsKind::Linux, "")
        }
    }
}

/// The policy that judges a host of `os` in `org_id`: its OS type's own, else the
/// organization's policy for every OS type.
pub fn policy_for_host<'p>(policies: &'p [Policy], org_id: &str, os: OsKind) -> Option<&'p Policy> {
    let mut org = policies.iter().filter(|p| p.org_id == org_id);
    let own = org.clone().find(|p| p.os_kind.os() == Some(os));
    own.or_else(|| org.find(|p| p.os_kind == PolicyTarget::All))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct PolicyOverride {
    pub id: String,
    pub policy_id: String,
    pub host_id: String,
    pub template_id: String,
    pub created_at: i64,
}

/// An agent counts as connected (`online`) while its last heartbeat is this recent: three
/// missed beats of 60 s make it `offline`.
pub const ONLINE_WITHIN_SECS: i64 = 180;
/// Health: `healthy` within 5 minutes of the last heartbeat, `stale` after 7 days, in between
/// `unhealthy`; `unknown` when the host never sent one.
pub const HEALTHY_WITHIN_SECS: i64 = 5 * 60;
/// An agentless host counts as `online` while its last successful SSH contact (a check or a
/// scan) is this recent; the server checks each one every half hour.
pub const SSH_ONLINE_WITHIN_SECS: i64 = 3600;
pub const STALE_AFTER_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Host {
    pub id: String,
    pub org_id: String,
    pub hostname: String,
    pub os_kind: OsKind,
    pub os_id: String,
    pub os_version: String,
    pub kernel: String,
    /// Derived from the last heartbeat when the host was read.
    pub status: HostStatus,
    pub health: Health,
    pub maintenance: bool,
    pub last_seen_at: Option<i64>,
    pub created_at: i64,
    /// Set for hosts an agent enrolled.
    pub agent_id: Option<String>,
    pub agent_version: Option<String>,
    /// Results and inventory the agent's spool had to drop while the server was unreachable.
    pub spool_dropped: i64,
    /// Why the server refused the agent's last inventory sync; `None` while syncs are accepted.
    pub inventory_refused: Option<String>,
    pub connection: HostConnection,
}

impl Host {
    pub fn is_online(&self) -> bool {
        self.status == HostStatus::Online
    }
}

/// A host row as stored; [`Host`] adds what is derived from the clock.
#[derive(sqlx::FromRow)]
pub(crate) struct HostRow {
    pub id: String,
    pub org_id: String,
    pub hostname: String,
    #[sqlx(try_from = "String")]
    pub os_kind: OsKind,
    pub os_id: String,
    pub os_version: String,
    pub kernel: String,
    pub status: String,
    pub last_seen_at: Option<i64>,
    pub created_at: i64,
    pub agent_id: Option<String>,
    pub agent_version: Option<String>,
    pub spool_dropped: i64,
    pub inventory_refused: Option<String>,
    #[sqlx(try_from = "String")]
    pub connection: HostConnection,
}

impl HostRow {
    pub(crate) fn at(self, now: i64) -> Host {
        let maintenance = self.status == "maintenance";
        let age = self.last_seen_at.map(|t| now - t);
        // An agent beats every minute; an agentless host is contacted every half hour.
        let (online_within, healthy_within) = match self.connection {
            HostConnection::Agent => (ONLINE_WITHIN_SECS, HEALTHY_WITHIN_SECS),
            HostConnection::Ssh => (SSH_ONLINE_WITHIN_SECS, SSH_ONLINE_WITHIN_SECS),
        };
        let status = match age {
            _ if maintenance => HostStatus::Maintenance,
            Some(a) if a <= online_within => HostStatus::Online,
            _ => HostStatus::Offline,
        };
        let health = match age {
            None => Health::Unknown,
            Some(a) if a < healthy_within => Health::Healthy,
            Some(a) if a <= STALE_AFTER_SECS => Health::Unhealthy,
            Some(_) => Health::Stale,
        };
        Host {
            id: self.id,
            org_id: self.org_id,
            hostname: self.hostname,
            os_kind: self.os_kind,
            os_id: self.os_id,
            os_version: self.os_version,
            kernel: self.kernel,
            status,
            health,
            maintenance,
            last_seen_at: self.last_seen_at,
            created_at: self.created_at,
            agent_id: self.agent_id,
            agent_version: self.agent_version,
            spool_dropped: self.spool_dropped,
            inventory_refused: self.inventory_refused,
            connection: self.connection,
        }
    }
}

/// A host added without an agent (tests, imports); it counts as seen when it is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewHost {
    pub org_id: String,
    pub hostname: String,
    pub os_kind: OsKind,
    pub os_id: String,
    pub os_version: String,
}

/// What an agent states about itself when it enrolls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Enrollment {
    pub agent_id: String,
    pub public_key: String,
    pub agent_version: String,
    pub hostname: String,
    pub os_kind: OsKind,
    pub os_id: String,
    pub os_version: String,
    pub kernel: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Enrolled {
    New(Host),
    /// The same agent (id and key) enrolled again; its host is kept.
    Again(Host),
    /// The agent id is enrolled with another key, or in another organization.
    Taken,
}

/// What a signed request needs to know about its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct AgentIdentity {
    pub host_id: String,
    pub org_id: String,
    pub agent_id: String,
    pub public_key: String,
    pub agent_version: Option<String>,
    /// Why the server last refused this agent's inventory, as the agent last reported it.
    pub inventory_refused: Option<String>,
}

/// A signed request's nonce, kept until `expires_at` so that the request cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceUse {
    pub agent_id: String,
    pub nonce: String,
    pub expires_at: i64,
}

/// A job as the store keeps it; the signed payload is built when it is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct AgentJob {
    pub id: String,
    pub org_id: String,
    pub host_id: String,
    #[sqlx(try_from = "String")]
    pub kind: bulwark_core::JobType,
    pub scan_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: bulwark_core::JobStatus,
    #[sqlx(try_from = "String")]
    pub priority: bulwark_core::JobPriority,
    /// The host-control action (absent for scans); passwords in it are sealed for the agent.
    #[sqlx(try_from = "Option<String>")]
    pub action: StoredAction,
    /// What the action does, in words (absent for scans).
    #[sqlx(skip)]
    pub summary: Option<String>,
    /// The user who asked for it; absent for scheduled scans.
    pub created_by: Option<String>,
    pub lease_until: Option<i64>,
    pub deliveries: i64,
    /// Why it failed or expired, or what the agent reported.
    pub message: Option<String>,
    pub deadline_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i64>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// The agent dropped output beyond its cap.
    pub output_truncated: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl AgentJob {
    /// Fills in what is derived from the stored columns.
    pub(crate) fn described(mut self) -> Self {
        self.summary = self.action.0.as_ref().map(|a| a.describe());
        self
    }
}

/// The `action` column: NULL for scans, else the [`bulwark_core::HostAction`] in JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct StoredAction(pub Option<bulwark_core::HostAction>);

impl TryFrom<Option<String>> for StoredAction {
    type Error = serde_json::Error;

    fn try_from(column: Option<String>) -> std::result::Result<Self, Self::Error> {
        column
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map(StoredAction)
    }
}

/// A host-control job to queue. The id is chosen by the caller, since secrets in the action
/// are sealed for the job they travel in before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub host_id: String,
    pub action: bulwark_core::HostAction,
    pub created_by: String,
    pub deadline_at: i64,
}

/// Which jobs a list shows; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    pub host_id: Option<String>,
    pub kind: Option<bulwark_core::JobType>,
    pub status: Option<bulwark_core::JobStatus>,
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<i64>,
}

/// How a host-control job ended, as the agent reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub succeeded: bool,
    pub message: String,
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
}

bulwark_core::text_enum! {
    /// Whether an audited action happened.
    pub enum AuditOutcome as "audit outcome" {
        /// It was done.
        Success = "success",
        /// The caller lacked the permission, the session, or the CSRF token.
        Denied = "denied",
        /// It was refused (bad input, a conflict) or failed.
        Failed = "failed",
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    /// The organization the action was in; empty when it was account-wide.
    pub org_id: String,
    /// Who: a user name, `token:` and a token's user, or `anonymous` for a failed login.
    pub actor: String,
    pub actor_id: Option<String>,
    /// The endpoint, as `METHOD /path/{param}`, or a named event such as `auth.login`.
    pub action: String,
    /// The object acted on (the path it was reached by, or a user name for logins).
    pub target: Option<String>,
    #[sqlx(try_from = "String")]
    pub outcome: AuditOutcome,
    /// What was asked and answered, in words; never a secret.
    pub detail: Option<String>,
    pub source_ip: Option<String>,
}

/// Which audit entries a list shows, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    pub org_id: Option<String>,
    /// Entries whose actor is exactly this.
    pub actor: Option<String>,
    /// Entries whose action contains this text.
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// From this time (Unix seconds).
    pub since: Option<i64>,
    /// At most this many (default 200, at most 5000).
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct FeatureFlag {
    /// Empty for the account-wide flag.
    pub org_id: String,
    pub feature: String,
    pub enabled: bool,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct HostGroup {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub created_at: i64,
}

bulwark_core::text_enum! {
    /// An exception waives while active; expired (its date passed) and revoked (a person
    /// ended it) are final.
    pub enum ExceptionState as "exception state" {
        Active = "active",
        Expired = "expired",
        Revoked = "revoked",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Exception {
    pub id: String,
    /// `None`: account-wide, in every organization.
    pub org_id: Option<String>,
    pub rule_id: String,
    pub reason: String,
    pub host_id: Option<String>,
    pub group_id: Option<String>,
    pub expires_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub state: ExceptionState,
    pub created_by: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewException {
    /// `None`: account-wide, in every organization (an account-wide caller's only).
    pub org_id: Option<String>,
    pub rule_id: String,
    pub reason: String,
    pub host_id: Option<String>,
    pub group_id: Option<String>,
    pub expires_at: Option<i64>,
    pub created_by: String,
}

bulwark_core::text_enum! {
    pub enum ScanStatus as "scan status" {
        Pending = "pending",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// A host's latest completed scan in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct LatestScore {
    pub host_id: String,
    pub score: Option<f64>,
    pub completed_at: i64,
}

bulwark_core::text_enum! {
    /// What asked for a scan.
    pub enum TriggerKind as "trigger" {
        Scheduled = "scheduled",
        OnDemand = "on_demand",
        /// A freshly provisioned machine, scanned for the provisioning gate.
        Provision = "provision",
    }
}

bulwark_core::text_enum! {
    /// Whether a host's agent is connected, derived from its last heartbeat when read;
    /// maintenance is set by people.
    pub enum HostStatus as "host status" {
        Online = "online",
        Offline = "offline",
        Maintenance = "maintenance",
    }
}

bulwark_core::text_enum! {
    /// How recently a host's agent was heard from (see [`HEALTHY_WITHIN_SECS`]).
    pub enum Health as "health" {
        Healthy = "healthy",
        Unhealthy = "unhealthy",
        Stale = "stale",
        Unknown = "unknown",
    }
}

impl ScanStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// Waiting for or being worked on by its agent.
    pub fn is_active(self) -> bool {
        !self.is_final()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Scan {
    pub id: String,
    pub org_id: String,
    pub host_id: String,
    pub hostname: String,
    pub policy_id: Option<String>,
    pub template_id: String,
    pub template_name: String,
    pub framework: String,
    #[sqlx(try_from = "String")]
    pub os_kind: OsKind,
    #[sqlx(try_from = "String")]
    pub trigger_kind: TriggerKind,
    #[sqlx(try_from = "String")]
    pub status: ScanStatus,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub score: Option<f64>,
    pub weighted_score: Option<f64>,
    /// Absent until the scan is scored.
    #[sqlx(try_from = "crate::db::NullableText")]
    pub risk: Option<Risk>,
    pub passed: i64,
    pub failed: i64,
    pub errors: i64,
    pub skipped: i64,
    pub waived: i64,
    pub total: i64,
    pub passing_threshold: f64,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewScan {
    pub org_id: String,
    pub host_id: String,
    pub policy_id: Option<String>,
    pub template_id: String,
    pub trigger_kind: TriggerKind,
    pub passing_threshold: f64,
    /// When the scan was asked for; `None` is now (only imported history sets it).
    #[serde(default)]
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanFilter {
    pub status: Option<ScanStatus>,
    pub host_id: Option<String>,
    pub policy_id: Option<String>,
    /// Scans whose id starts with this.
    pub id_prefix: Option<String>,
    /// Scans of hosts whose name starts with this (any case).
    #[serde(default)]
    pub hostname_prefix: Option<String>,
    pub limit: Option<i64>,
    /// Scans skipped before the first listed.
    #[serde(default)]
    pub offset: Option<i64>,
}

/// One check's final result in a scan, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScanResult {
    pub check_id: String,
    pub title: String,
    pub category: String,
    pub severity: Severity,
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

impl ScanResult {
    pub fn status(&self) -> Status {
        self.outcome.status
    }
}

/// What `complete_scan` did: a retried submission of a finished scan changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    Completed,
    AlreadyFinished,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: String,
    pub org_id: String,
    pub host_id: Option<String>,
    pub scan_id: Option<String>,
    /// warning | critical
    pub level: String,
    pub message: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Webhook {
    pub id: String,
    pub org_id: String,
    pub url: String,
    #[serde(skip_serializing)]
    pub secret: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Dashboard {
    pub total_policies: i64,
    pub total_scans: i64,
    pub average_score: Option<f64>,
    pub hosts_scanned: i64,
    pub pass_rate: Option<f64>,
    pub framework_scores: Vec<FrameworkScore>,
    pub worst_hosts: Vec<HostScore>,
    pub top_failing_checks: Vec<FailingCheck>,
    pub risk_distribution: Vec<Bucket>,
    pub category_breakdown: Vec<CategoryScore>,
    pub non_compliant_hosts: Vec<HostScore>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct FrameworkScore {
    pub policy_id: String,
    pub policy_name: String,
    pub framework: String,
    pub average_score: Option<f64>,
    pub scans: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct HostScore {
    pub host_id: String,
    pub hostname: String,
    pub policy_id: String,
    pub scan_id: String,
    pub score: Option<f64>,
    #[sqlx(try_from = "String")]
    pub risk: Risk,
    pub completed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct FailingCheck {
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    pub failures: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct Bucket {
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct CategoryScore {
    pub category: String,
    pub passed: i64,
    pub failed: i64,
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct TrendDay {
    /// YYYY-MM-DD (UTC).
    pub date: String,
    pub average_score: Option<f64>,
    pub scan_count: i64,
    pub passed: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Trends {
    pub days: i64,
    pub daily: Vec<TrendDay>,
    pub average_score: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub total_scans: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExportFilter {
    pub policy_id: Option<String>,
    pub host_id: Option<String>,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_health_follow_the_last_heartbeat() {
        let now = 10_000_000;
        let cases = [
            (Some(now), "active", "online", "healthy"),
            (
                Some(now - ONLINE_WITHIN_SECS),
                "active",
                "online",
                "healthy",
            ),
            (
                Some(now - ONLINE_WITHIN_SECS - 1),
                "active",
                "offline",
                "healthy",
            ),
            (
                Some(now - HEALTHY_WITHIN_SECS),
                "active",
                "offline",
                "unhealthy",
            ),
            (
                Some(now - STALE_AFTER_SECS),
                "active",
                "offline",
                "unhealthy",
            ),
            (
                Some(now - STALE_AFTER_SECS - 1),
                "active",
                "offline",
                "stale",
            ),
            (None, "active", "offline", "unknown"),
            (Some(now), "maintenance", "maintenance", "healthy"),
        ];
        let agentless = [
            (
                Some(now - ONLINE_WITHIN_SECS - 1),
                "active",
                "online",
                "healthy",
            ),
            (
                Some(now - SSH_ONLINE_WITHIN_SECS - 1),
                "active",
                "offline",
                "unhealthy",
            ),
        ];
        let cases = cases
            .into_iter()
            .map(|c| (HostConnection::Agent, c))
            .chain(agentless.into_iter().map(|c| (HostConnection::Ssh, c)));
        for (connection, (seen, mode, status, health)) in cases {
            let host = HostRow {
                id: "h".into(),
                org_id: "o".into(),
                hostname: "h".into(),
                os_kind: bulwark_core::OsKind::Linux,
                os_id: "debian".into(),
                os_version: "12".into(),
                kernel: String::new(),
                status: mode.into(),
                last_seen_at: seen,
                created_at: 0,
                agent_id: None,
                agent_version: None,
                spool_dropped: 0,
                inventory_refused: None,
                connection,
            }
            .at(now);
            assert_eq!(
                (host.status.as_str(), host.health.as_str()),
                (status, health),
                "{connection} {seen:?} {mode}"
            );
        }
    }
}

/// Failed logins within a window: for one user name, and from one source address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginPressure {
    pub user_failures: i64,
    pub user_last: Option<i64>,
    pub source_failures: i64,
    pub source_last: Option<i64>,
}

bulwark_core::text_enum! {
    /// How the server reaches a host: its enrolled agent polls for jobs, or (agentless) the
    /// server connects to it over SSH.
    pub enum HostConnection as "host connection" {
        Agent = "agent",
        Ssh = "ssh",
    }
}

bulwark_core::text_enum! {
    /// How an agentless scan gains the rights to read the whole host: none (the login user
    /// scans as itself), or `sudo -n` (passwordless sudo for the scanner).
    pub enum Escalation as "privilege escalation" {
        None = "none",
        Sudo = "sudo",
    }
}

bulwark_core::text_enum! {
    pub enum SshCredentialKind as "SSH credential kind" {
        PrivateKey = "private_key",
        Password = "password",
    }
}

/// A named SSH login an organization's agentless hosts share. The secret itself is never
/// part of this value: it is sealed in the store and opened only by the scan that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct SshCredential {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: SshCredentialKind,
    /// For keys: the public half, for authorized_keys.
    pub public_key: Option<String>,
    pub created_at: i64,
    /// Hosts that log in with it.
    pub hosts: i64,
}

/// A credential to store; `sealed_secret` is already encrypted by the server.
#[derive(Debug, Clone)]
pub struct NewSshCredential {
    pub org_id: String,
    pub name: String,
    pub kind: SshCredentialKind,
    pub sealed_secret: String,
    pub public_key: Option<String>,
}

/// How the server reaches an agentless host, and what its last check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct SshTarget {
    pub host_id: String,
    pub org_id: String,
    pub address: String,
    pub port: i64,
    pub username: String,
    pub credential_id: String,
    pub credential_name: String,
    #[sqlx(try_from = "String")]
    pub escalation: Escalation,
    /// The approved host key's SHA256 fingerprint; scans refuse any other key.
    pub host_key: Option<String>,
    /// A key the host offered that nobody has approved yet.
    pub offered_key: Option<String>,
    pub checked_at: Option<i64>,
    pub check_ok: Option<bool>,
    /// The last check's findings (JSON), as the server wrote them.
    #[schemars(with = "Option<serde_json::Value>")]
    #[serde(with = "json_text")]
    pub check_report: Option<String>,
}

/// A stored JSON document travels as JSON, not as a string holding JSON.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        let value: Option<serde_json::Value> =
            text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(d)?;
        Ok(value.map(|v| v.to_string()))
    }
}

/// An agentless host to register.
#[derive(Debug, Clone)]
pub struct NewSshHost {
    pub org_id: String,
    pub hostname: String,
    pub address: String,
    pub port: u16,
    pub username: String,
    pub credential_id: String,
    pub escalation: Escalation,
    /// A fingerprint given at registration counts as approved.
    pub host_key: Option<String>,
}

/// What one SSH check of a host found, to record.
#[derive(Debug, Clone)]
pub struct SshCheckRecord {
    pub ok: bool,
    /// The key the host presented, when it is not the approved one.
    pub offered_key: Option<String>,
    /// JSON findings.
    pub report: String,
}

/// An organization's provisioning-gate settings as stored: the settings, and which of the
/// write-only secrets are set (their values never leave the store but to the server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoredComplianceSettings {
    pub org_id: String,
    pub settings: bulwark_core::provisioning::ComplianceSettings,
    pub has_run_task_key: bool,
    pub has_notification_token: bool,
    pub has_terraform_token: bool,
    /// The last cron firing whose scans were created (Unix seconds).
    pub scheduled_at: Option<i64>,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The provisioning gate's secrets, stored sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisioningSecret {
    /// The HMAC-SHA512 key Terraform signs run-task deliveries with.
    RunTaskKey,
    /// The token Terraform signs notifications with.
    NotificationToken,
    /// An API token to read a workspace's outputs with (notifications carry none).
    TerraformToken,
}

impl ProvisioningSecret {
    pub(crate) fn column(self) -> &'static str {
        match self {
            ProvisioningSecret::RunTaskKey => "run_task_key",
            ProvisioningSecret::NotificationToken => "notification_token",
            ProvisioningSecret::TerraformToken => "terraform_token",
        }
    }
}

/// A change of a sealed secret: `None` leaves it, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedSecretUpdates {
    pub run_task_key: Option<Option<String>>,
    pub notification_token: Option<Option<String>>,
    pub terraform_token: Option<Option<String>>,
}

/// A machine a provisioning run reported, with its scan and handover decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct ProvisionedVm {
    pub id: String,
    pub org_id: String,
    #[sqlx(try_from = "String")]
    pub source: bulwark_core::provisioning::ProvisionSource,
    #[sqlx(try_from = "String")]
    pub provider: bulwark_core::provisioning::VmProvider,
    pub tf_organization: Option<String>,
    pub workspace: Option<String>,
    pub project: Option<String>,
    pub run_id: String,
    pub address: String,
    pub port: i64,
    pub hostname: String,
    /// The key the delivery said the machine has (`SHA256:` fingerprint), if it said.
    pub host_key: Option<String>,
    pub created_at: i64,
    /// The host the machine became (an agentless host of the organization).
    pub host_id: Option<String>,
    pub scan_id: Option<String>,
    pub run_task_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: bulwark_core::provisioning::ProvisionStatus,
    /// Recorded but not scanned: its project is exempt.
    pub exempted: bool,
    /// Why the scan failed or was not done.
    pub failure: Option<String>,
    /// The mode the decision was made in.
    #[sqlx(try_from = "String")]
    pub enforcement_mode: bulwark_core::provisioning::EnforcementMode,
    #[sqlx(try_from = "String")]
    pub profile: bulwark_core::provisioning::CisProfile,
    pub min_score: f64,
    pub score: Option<f64>,
    pub critical_failures: Option<i64>,
    pub high_failures: Option<i64>,
    pub medium_failures: Option<i64>,
    pub low_failures: Option<i64>,
    pub passed: Option<i64>,
    pub failed: Option<i64>,
    pub errors: Option<i64>,
    pub not_applicable: Option<i64>,
    /// Held back from handover: block mode, and a blocking rule applied (or the scan failed).
    pub handover_blocked: bool,
    /// Why, in words ("3 critical CIS check(s) failed"); in audit and warn mode, what block
    /// mode would have blocked for.
    pub block_reason: Option<String>,
    pub released_by: Option<String>,
    pub released_at: Option<i64>,
    pub release_reason: Option<String>,
    pub finished_at: Option<i64>,
}

impl ProvisionedVm {
    /// Whether the machine may be handed over now.
    pub fn handover_allowed(&self) -> bool {
        self.status.is_final() && (!self.handover_blocked || self.released_at.is_some())
    }

    /// Blocked and not released.
    pub fn held(&self) -> bool {
        self.handover_blocked && self.released_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewProvisionedVm {
    pub org_id: String,
    pub source: bulwark_core::provisioning::ProvisionSource,
    pub provider: bulwark_core::provisioning::VmProvider,
    pub tf_organization: Option<String>,
    pub workspace: Option<String>,
    pub project: Option<String>,
    pub run_id: String,
    pub address: String,
    pub port: u16,
    pub hostname: String,
    pub host_key: Option<String>,
    pub run_task_id: Option<String>,
    pub status: bulwark_core::provisioning::ProvisionStatus,
    pub exempted: bool,
    pub failure: Option<String>,
    pub enforcement_mode: bulwark_core::provisioning::EnforcementMode,
    pub profile: bulwark_core::provisioning::CisProfile,
    pub min_score: f64,
}

/// How a provisioned machine's scan ended.
#[derive(Debug, Clone, PartialEq)]
pub struct VmSettlement {
    pub status: bulwark_core::provisioning::ProvisionStatus,
    pub failure: Option<String>,
    pub tally: Option<bulwark_core::provisioning::Tally>,
    pub counts: Option<bulwark_core::Counts>,
    pub enforcement_mode: bulwark_core::provisioning::EnforcementMode,
    pub blocked: bool,
    pub reason: Option<String>,
    pub at: i64,
}

/// Which provisioned machines a list shows, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionedVmFilter {
    pub org_id: Option<String>,
    pub status: Option<bulwark_core::provisioning::ProvisionStatus>,
    pub project: Option<String>,
    /// Only machines held back (blocked and not released), or only the others.
    pub blocked: Option<bool>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The provisioning overview's cards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProvisioningOverview {
    /// The mean score of completed scans; none before the first.
    pub average_score: Option<f64>,
    /// Machines recorded (every status).
    pub total_scans: i64,
    pub completed_scans: i64,
    /// Machines held back now (blocked, not released).
    pub blocked: i64,
    /// Completed scans meeting their minimum score, as a share of completed scans (0-100).
    pub pass_rate: Option<f64>,
}

/// A Terraform run task waiting for (or done with) its callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema, sqlx::FromRow)]
pub struct RunTask {
    pub id: String,
    pub org_id: String,
    pub task_result_id: String,
    pub run_id: String,
    pub workspace: Option<String>,
    pub callback_url: String,
    pub received_at: i64,
    /// How many machines the run reported; none while they are being read.
    pub machines: Option<i64>,
    /// The status last sent to Terraform (running, passed, failed).
    pub reported: Option<String>,
    pub reported_at: Option<i64>,
    pub message: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRunTask {
    pub org_id: String,
    pub task_result_id: String,
    pub run_id: String,
    pub workspace: Option<String>,
    pub callback_url: String,
    pub sealed_access_token: String,
    pub received_at: i64,
}

/// One callback attempt's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTaskReport {
    /// The status sent, when Terraform accepted it.
    pub sent: Option<String>,
    pub message: Option<String>,
    pub error: Option<String>,
    pub done: bool,
    pub at: i64,
}

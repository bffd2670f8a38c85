//! Request and answer bodies of the agent API. Every request body rejects unknown fields, so
//! a typo in an agent build fails loudly instead of being dropped.

use std::collections::BTreeMap;

use bulwark_core::CheckOutcome;
use bulwark_core::inventory::{Interface, SystemInfo};
use serde::{Deserialize, Serialize};

use crate::SignedJob;

pub const ENROLL_PATH: &str = "/api/v1/agent/enroll";
pub const HEARTBEAT_PATH: &str = "/api/v1/agent/heartbeat";
pub const INVENTORY_PATH: &str = "/api/v1/agent/inventory";
pub const JOBS_PATH: &str = "/api/v1/agent/jobs";

pub fn job_ack_path(job_id: &str) -> String {
    format!("/api/v1/agent/jobs/{job_id}/ack")
}

pub fn job_fail_path(job_id: &str) -> String {
    format!("/api/v1/agent/jobs/{job_id}/fail")
}

pub fn job_report_path(job_id: &str) -> String {
    format!("/api/v1/agent/jobs/{job_id}/report")
}

pub fn datastream_path(digest: &str) -> String {
    format!("/api/v1/agent/datastreams/{digest}")
}

pub fn arf_path(scan_id: &str) -> String {
    format!("/api/v1/agent/scans/{scan_id}/arf")
}

pub fn results_path(scan_id: &str) -> String {
    format!("/api/v1/agent/scans/{scan_id}/results")
}

/// The features a heartbeat answer can switch off (the seed's kill switch).
pub const FEATURES: [&str; 4] = [
    "terminal",
    "file_browser",
    "remote_desktop",
    "script_execution",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub agent_id: String,
    pub org_secret: String,
    /// Ed25519, hex.
    pub public_key: String,
    pub agent_version: String,
    pub system: SystemInfo,
    #[serde(default)]
    pub interfaces: Vec<Interface>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EnrollResponse {
    pub host_id: String,
    /// The key that signs this server's jobs (Ed25519, hex); the agent keeps it.
    pub server_public_key: String,
    pub heartbeat_secs: u64,
    pub inventory_secs: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub agent_version: String,
    /// Items the agent's spool dropped (oldest first) since it last reported.
    #[serde(default)]
    pub spool_dropped: u64,
    /// Items waiting in the spool.
    #[serde(default)]
    pub spool_pending: u64,
    /// Why the server refused the agent's latest inventory sync (with how many syncs in a row
    /// it refused); absent once a sync is accepted, so the host page can say what is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeartbeatResponse {
    pub pending_jobs: u64,
    /// Every feature of [`FEATURES`] with whether it is enabled for this agent.
    pub features: BTreeMap<String, bool>,
    pub server_time: i64,
    pub heartbeat_secs: u64,
}

/// Differential inventory: the hash of every category, and the contents of those that
/// changed since the agent's last accepted sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryRequest {
    pub hashes: BTreeMap<String, String>,
    /// Each changed category's JSON, hashed by the server as received.
    #[serde(default)]
    pub categories: BTreeMap<String, crate::inventory::CategoryJson>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InventoryResponse {
    /// Categories stored from this request.
    pub stored: Vec<String>,
    /// Categories whose hash the server does not hold and that the request did not carry:
    /// the agent sends them in full at once.
    pub resend: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobsResponse {
    pub jobs: Vec<SignedJob>,
}

/// One check's outcome as an agent reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentResult {
    pub check_id: String,
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultsRequest {
    pub results: Vec<AgentResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResultsResponse {
    pub scan_id: String,
    /// `completed`, or `already_finished` for a retried submission (counted once).
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    pub reason: String,
}

/// The most of each output stream a job report carries; the agent keeps the start, drops
/// the rest as it arrives and says so (`truncated`).
pub const MAX_JOB_OUTPUT_BYTES: usize = 64 * 1024;

/// How a host-control job ended on the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobReport {
    pub succeeded: bool,
    /// What happened, in a sentence ("nginx is running", "process 4242 is gone",
    /// "no such user: alice").
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    /// Output beyond [`MAX_JOB_OUTPUT_BYTES`] per stream was dropped.
    #[serde(default)]
    pub truncated: bool,
}

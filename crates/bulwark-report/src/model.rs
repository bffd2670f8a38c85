//! What a report is made from: one completed scan and its findings, as the server stores
//! them. The types derive `JsonSchema` so that the server can describe them in its API
//! document, and serde so that they travel as they are.

use bulwark_core::{Risk, Severity, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One completed scan of one host against one template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportScan {
    pub id: String,
    pub host_id: String,
    pub hostname: String,
    /// Operating system as detected, e.g. "debian 12".
    pub os: String,
    pub template_id: String,
    pub template_name: String,
    /// The template's framework, e.g. "cis_level1".
    pub framework: String,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub policy_name: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub started_at: Option<i64>,
    /// Unix seconds.
    pub completed_at: i64,
    /// Passed / evaluable × 100; absent when nothing was evaluable.
    #[serde(default)]
    pub score: Option<f64>,
    /// Severity-weighted score; absent when nothing was evaluable.
    #[serde(default)]
    pub weighted_score: Option<f64>,
    /// Risk level; absent when the scan was not scored.
    #[serde(default)]
    pub risk: Option<Risk>,
    /// The score a scan needs to pass, 0 to 100.
    pub passing_threshold: f64,
    /// Which engine evaluated the checks: "native" or "oscap".
    pub engine: String,
}

impl ReportScan {
    /// Whether the scan meets its threshold; a scan with nothing evaluable does not, as in
    /// `bulwark_core::ScoreSummary::meets`.
    pub fn passing(&self) -> bool {
        self.score.is_some_and(|s| s >= self.passing_threshold)
    }
}

/// One check's result with everything a reader needs to act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub check_id: String,
    pub title: String,
    pub category: String,
    pub severity: Severity,
    pub status: Status,
    pub description: String,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub remediation_script: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// CCE, CCI, STIG (V-) and CIS identifiers of the check.
    #[serde(default)]
    pub idents: Vec<String>,
    /// What the check saw on the host.
    #[serde(default)]
    pub actual: Option<String>,
    /// What the check wanted, in words.
    pub expected: String,
    /// Why the check is skip or error, or a short explanation of a failure or waiver.
    #[serde(default)]
    pub reason: Option<String>,
    /// Who granted the exception that waived this failure.
    #[serde(default)]
    pub waived_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub scan: ReportScan,
    pub findings: Vec<Finding>,
}

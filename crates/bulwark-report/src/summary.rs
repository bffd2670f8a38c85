//! What every output says before the details: counts by status and by severity × status,
//! the scores and the verdict, and the order in which findings are shown to people.

use std::collections::BTreeMap;

use bulwark_core::{Risk, Severity, Status};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Finding, Report};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub total: u32,
    /// Every status, zeros included, so that consumers see a fixed shape.
    pub by_status: BTreeMap<Status, u32>,
    /// Every severity × every status, zeros included.
    pub by_severity: BTreeMap<Severity, BTreeMap<Status, u32>>,
    pub score: Option<f64>,
    pub weighted_score: Option<f64>,
    pub risk: Option<Risk>,
    pub passing_threshold: f64,
    /// Whether the score meets the threshold (false when nothing was evaluable).
    pub passing: bool,
}

fn zeros() -> BTreeMap<Status, u32> {
    Status::ALL.iter().map(|s| (*s, 0)).collect()
}

impl Summary {
    pub fn of(report: &Report) -> Summary {
        let mut by_status = zeros();
        let mut by_severity: BTreeMap<Severity, BTreeMap<Status, u32>> =
            Severity::ALL.iter().map(|s| (*s, zeros())).collect();
        for f in &report.findings {
            *by_status.entry(f.status).or_default() += 1;
            *by_severity
                .entry(f.severity)
                .or_default()
                .entry(f.status)
                .or_default() += 1;
        }
        let scan = &report.scan;
        Summary {
            total: by_status.values().sum(),
            by_status,
            by_severity,
            score: scan.score,
            weighted_score: scan.weighted_score,
            risk: scan.risk,
            passing_threshold: scan.passing_threshold,
            passing: scan.passing(),
        }
    }
}

/// The parts of the HTML report, in the order a reader should act on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Failed,
    Errors,
    Waived,
    /// SCAP's manual, unselected and informational rules: shown, never scored.
    NotScored,
    Skipped,
    Passed,
}

impl Section {
    pub(crate) const ALL: [Section; 6] = [
        Section::Failed,
        Section::Errors,
        Section::Waived,
        Section::NotScored,
        Section::Skipped,
        Section::Passed,
    ];

    /// The one place that decides where a status is shown. Exhaustive on purpose: a status
    /// added to core must be placed here before the crate compiles.
    pub(crate) fn of(status: Status) -> Section {
        match status {
            Status::Fail => Section::Failed,
            Status::Error => Section::Errors,
            Status::Waived => Section::Waived,
            Status::Skip => Section::Skipped,
            Status::Pass => Section::Passed,
            Status::NotChecked | Status::NotSelected | Status::Informational => Section::NotScored,
        }
    }

    pub(crate) fn heading(self) -> &'static str {
        match self {
            Section::Failed => "Failed",
            Section::Errors => "Errors",
            Section::Waived => "Waived",
            Section::NotScored => "Not scored",
            Section::Skipped => "Skipped",
            Section::Passed => "Passed",
        }
    }

    pub(crate) fn anchor(self) -> &'static str {
        match self {
            Section::Failed => "failed",
            Section::Errors => "errors",
            Section::Waived => "waived",
            Section::NotScored => "not-scored",
            Section::Skipped => "skipped",
            Section::Passed => "passed",
        }
    }
}

/// Findings by section, each ordered critical → info, then by check id, as every list of
/// results is. Empty sections are kept so that the report can say "none".
pub(crate) fn sections(findings: &[Finding]) -> Vec<(Section, Vec<&Finding>)> {
    Section::ALL
        .iter()
        .map(|section| {
            let mut these: Vec<&Finding> = findings
                .iter()
                .filter(|f| Section::of(f.status) == *section)
                .collect();
            these.sort_by(|a, b| {
                bulwark_core::outcome::listing_key(a.status, a.severity, &a.check_id).cmp(
                    &bulwark_core::outcome::listing_key(b.status, b.severity, &b.check_id),
                )
            });
            (*section, these)
        })
        .collect()
}

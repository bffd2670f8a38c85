//! The JSON report: the scan, a summary block and every finding in full. A typed document
//! (`JsonReport`) so that the server can answer it and describe it in its API document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Finding, Report, ReportScan};
use crate::summary::Summary;

/// Version of the document's shape; raised when a field changes meaning or disappears.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonReport {
    pub format_version: u32,
    pub scan: ReportScan,
    pub summary: Summary,
    /// In the scan's order (the template's), not regrouped as in the HTML report.
    pub findings: Vec<Finding>,
}

impl JsonReport {
    pub fn of(report: &Report) -> JsonReport {
        JsonReport {
            format_version: JSON_FORMAT_VERSION,
            scan: report.scan.clone(),
            summary: Summary::of(report),
            findings: report.findings.clone(),
        }
    }
}

pub fn json(report: &Report) -> serde_json::Value {
    serde_json::to_value(JsonReport::of(report))
        .expect("a report is plain data: strings, numbers and string-keyed maps")
}

//! A whole scan: detect the host, evaluate every enabled check, time each one, and score.

use std::time::{Duration, Instant};

use bulwark_core::{CheckOutcome, ScoreSummary, Severity, Template};
use serde::Serialize;

use crate::evaluate::evaluate;
use crate::facts::Facts;
use crate::host::{HostRoot, RootError};

#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    pub hostname: String,
    pub os_id: String,
    pub os_version: String,
    pub os_name: String,
    pub root: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: Severity,
    #[serde(flatten)]
    pub outcome: CheckOutcome,
    #[serde(skip)]
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub template: String,
    pub template_name: String,
    pub host: HostInfo,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(flatten)]
    pub summary: ScoreSummary,
    pub results: Vec<CheckResult>,
}

pub(crate) fn hostname(host: &HostRoot, os: &bulwark_core::HostOs) -> String {
    if os.kind == bulwark_core::OsKind::Windows {
        return crate::windows::computer_name(host).unwrap_or_else(|| "unknown".into());
    }
    let from = if host.is_live() {
        "/proc/sys/kernel/hostname"
    } else {
        "/etc/hostname"
    };
    host.read(from)
        .ok()
        .flatten()
        .or_else(|| host.read("/etc/hostname").ok().flatten())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Scans `host` with every enabled check of `template`; `progress` hears of each finished
/// check (done, total, check id).
pub fn scan(
    host: HostRoot,
    template: &Template,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<ScanReport, RootError> {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let os = host.detect_os()?;
    if os.kind != template.os {
        return Err(RootError::WrongOs {
            template: template.id.clone(),
            template_os: template.os.as_str(),
            host_os: os.kind.as_str(),
        });
    }
    let info = HostInfo {
        hostname: hostname(&host, &os),
        os_id: os.id.clone(),
        os_version: os.version_id.clone(),
        os_name: os.to_string(),
        root: host.root().display().to_string(),
    };
    let facts = Facts::new(host, os);
    let checks: Vec<_> = template.checks.iter().filter(|c| c.enabled).collect();
    let mut results = Vec::with_capacity(checks.len());
    for (i, check) in checks.iter().enumerate() {
        let t = Instant::now();
        let outcome = evaluate(&facts, template.os, check);
        results.push(CheckResult {
            id: check.id.clone(),
            title: check.title.clone(),
            category: check.category.clone(),
            severity: check.severity,
            outcome,
            duration: t.elapsed(),
        });
        progress(i + 1, checks.len(), &check.id);
    }
    let summary =
        ScoreSummary::from_results(results.iter().map(|r| (r.severity, r.outcome.status)));
    Ok(ScanReport {
        template: template.id.clone(),
        template_name: template.name.clone(),
        host: info,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        summary,
        results,
    })
}

//! The HTML report for people: one self-contained document (inline CSS, no scripts, nothing
//! fetched) that opens with an executive summary and then lists what to fix first. Every
//! value from the scan is escaped by askama.

use askama::Template as _;
use bulwark_core::{Risk, Severity, Status};

use crate::model::{Finding, Report, ReportScan};
use crate::summary::{Section, Summary, sections};
use crate::{text, when};

struct SectionView<'a> {
    heading: &'static str,
    anchor: &'static str,
    findings: Vec<&'a Finding>,
}

struct SeverityRow {
    severity: Severity,
    counts: Vec<u32>,
    total: u32,
}

#[derive(askama::Template)]
#[template(path = "report.html", whitespace = "minimize")]
struct Page<'a> {
    scan: &'a ReportScan,
    score: String,
    score_class: &'static str,
    weighted: String,
    verdict: &'static str,
    threshold: String,
    risk: &'static str,
    risk_class: &'static str,
    started: Option<String>,
    completed: String,
    total: u32,
    status_counts: Vec<(Status, &'static str, u32)>,
    status_headings: Vec<&'static str>,
    severity_rows: Vec<SeverityRow>,
    detailed: Vec<SectionView<'a>>,
    passed: Vec<&'a Finding>,
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |s| format!("{s:.1}%"))
}

/// The colour band of a score, the thresholds a security manager reads at a glance.
fn score_class(score: Option<f64>) -> &'static str {
    match score {
        Some(s) if s >= 80.0 => "good",
        Some(s) if s >= 60.0 => "fair",
        Some(_) => "poor",
        None => "none",
    }
}

/// A risk level as the report shows it, and its CSS class.
fn risk_label(risk: Option<Risk>) -> (&'static str, &'static str) {
    match risk {
        Some(r) => (r.as_str(), r.as_str()),
        None => ("not scored", "unknown"),
    }
}

/// A status's label in the counts; the sections' headings are plural nouns instead.
fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pass => "Passed",
        Status::Fail => "Failed",
        Status::Error => "Errors",
        Status::Skip => "Skipped",
        Status::Waived => "Waived",
        Status::NotChecked => "Not checked",
        Status::NotSelected => "Not selected",
        Status::Informational => "Informational",
    }
}

pub fn html(report: &Report) -> String {
    let report = &*text::visible_report(report);
    let summary = Summary::of(report);
    let scan = &report.scan;
    let mut detailed = Vec::new();
    let mut passed = Vec::new();
    for (section, findings) in sections(&report.findings) {
        if section == Section::Passed {
            passed = findings;
        } else {
            detailed.push(SectionView {
                heading: section.heading(),
                anchor: section.anchor(),
                findings,
            });
        }
    }
    // SCAP's not-scored statuses get a column only in reports that have them.
    let columns: Vec<Status> = Status::ALL
        .into_iter()
        .filter(|s| {
            !matches!(
                s,
                Status::NotChecked | Status::NotSelected | Status::Informational
            ) || summary.by_status.get(s).is_some_and(|n| *n > 0)
        })
        .collect();
    let page = Page {
        scan,
        score: percent(scan.score),
        score_class: score_class(scan.score),
        weighted: percent(scan.weighted_score),
        verdict: if scan.passing() { "Pass" } else { "Fail" },
        threshold: format!("{:.0}%", scan.passing_threshold),
        risk: risk_label(scan.risk).0,
        risk_class: risk_label(scan.risk).1,
        started: scan.started_at.map(when::human),
        completed: when::human(scan.completed_at),
        total: summary.total,
        status_counts: columns
            .iter()
            .map(|s| {
                (
                    *s,
                    status_label(*s),
                    summary.by_status.get(s).copied().unwrap_or(0),
                )
            })
            .collect(),
        status_headings: columns.iter().map(|s| status_label(*s)).collect(),
        severity_rows: summary
            .by_severity
            .iter()
            .map(|(severity, counts)| SeverityRow {
                severity: *severity,
                counts: columns.iter().map(|s| counts[s]).collect(),
                total: counts.values().sum(),
            })
            .collect(),
        detailed,
        passed,
    };
    page.render()
        .expect("the template only formats strings and numbers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bands() {
        for (score, class) in [
            (Some(100.0), "good"),
            (Some(80.0), "good"),
            (Some(79.99), "fair"),
            (Some(60.0), "fair"),
            (Some(59.9), "poor"),
            (Some(0.0), "poor"),
            (None, "none"),
        ] {
            assert_eq!(score_class(score), class, "{score:?}");
        }
    }
}

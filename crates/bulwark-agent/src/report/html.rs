//! A self-contained HTML report: executive summary, counts by severity, and every finding with
//! its description, rationale, remediation and the actual value. Escaped by askama.

use std::collections::HashMap;

use askama::Template as _;
use bulwark_core::{Check, Severity, Status, Template};
use bulwark_engine::{CheckResult, ScanReport};

struct Row<'a> {
    result: &'a CheckResult,
    check: Option<&'a Check>,
}

#[derive(askama::Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    report: &'a ScanReport,
    score: String,
    weighted: String,
    severities: Vec<(Severity, u32, u32)>,
    findings: Vec<Row<'a>>,
    passed: Vec<Row<'a>>,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |s| format!("{s:.1}%"))
}

pub fn html(report: &ScanReport, template: &Template) -> anyhow::Result<String> {
    let checks: HashMap<&str, &Check> =
        template.checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let row = |r| Row {
        result: r,
        check: checks.get(r.id.as_str()).copied(),
    };
    let mut findings: Vec<Row> = report
        .results
        .iter()
        .filter(|r| r.outcome.status != Status::Pass)
        .map(row)
        .collect();
    findings.sort_by_key(|r| (r.result.outcome.status, r.result.severity));
    let passed = report
        .results
        .iter()
        .filter(|r| r.outcome.status == Status::Pass)
        .map(row)
        .collect();
    let severities = Severity::ALL
        .iter()
        .filter_map(|s| {
            report
                .summary
                .by_severity
                .get(s)
                .map(|c| (*s, c.pass, c.fail))
        })
        .collect();
    let page = ReportPage {
        report,
        score: pct(report.summary.score),
        weighted: pct(report.summary.weighted_score),
        severities,
        findings,
        passed,
    };
    Ok(page.render()?)
}

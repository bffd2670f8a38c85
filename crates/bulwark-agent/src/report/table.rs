//! The terminal summary: score, counts by status and severity, the worst failures with their
//! evidence and remediation pointer.

use bulwark_core::{Severity, Status};
use bulwark_engine::ScanReport;
use comfy_table::{ContentArrangement, Table};

fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}%"))
}

pub fn table(report: &ScanReport) -> String {
    let s = &report.summary;
    let c = &s.counts;
    let mut out = format!(
        "{} on {} ({}), {} checks in {} ms\n\nscore {}   weighted {}   risk {}\npass {}  fail {}  error {}  skip {}\n\n",
        report.template,
        report.host.hostname,
        report.host.os_name,
        c.total(),
        report.duration_ms,
        score(s.score),
        score(s.weighted_score),
        s.risk.as_str(),
        c.pass,
        c.fail,
        c.error,
        c.skip
    );
    let mut sev = Table::new();
    sev.set_header(["severity", "pass", "fail", "error", "skip"]);
    for severity in Severity::ALL {
        if let Some(k) = s.by_severity.get(&severity) {
            sev.add_row([
                severity.as_str().to_string(),
                k.pass.to_string(),
                k.fail.to_string(),
                k.error.to_string(),
                k.skip.to_string(),
            ]);
        }
    }
    out.push_str(&format!("{sev}\n\n"));
    let mut failures: Vec<_> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome.status, Status::Fail | Status::Error))
        .collect();
    failures.sort_by_key(|r| (r.severity, r.outcome.status));
    if failures.is_empty() {
        out.push_str("no failures\n");
        return out;
    }
    let mut worst = Table::new();
    worst
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160);
    worst.set_header(["id", "severity", "status", "title", "actual", "expected"]);
    for r in failures.iter().take(25) {
        let mut actual: String = r
            .outcome
            .actual
            .clone()
            .or_else(|| r.outcome.reason.clone())
            .unwrap_or_default();
        if actual.chars().count() > 160 {
            actual = actual.chars().take(160).collect::<String>() + "…";
        }
        worst.add_row([
            r.id.clone(),
            r.severity.as_str().to_string(),
            r.outcome.status.as_str().to_string(),
            r.title.clone(),
            actual,
            r.outcome.expected.clone(),
        ]);
    }
    out.push_str(&format!(
        "worst {} of {} failures and errors:\n{worst}\n",
        failures.len().min(25),
        failures.len()
    ));
    out.push_str("remediation: bulwark-agent content show TEMPLATE --format json, or --format html for a full report\n");
    out
}

pub fn timings(report: &ScanReport, n: usize) -> String {
    let mut by_time: Vec<_> = report.results.iter().collect();
    by_time.sort_by_key(|r| std::cmp::Reverse(r.duration));
    let mut t = Table::new();
    t.set_header(["check", "kind of work", "ms"]);
    for r in by_time.iter().take(n) {
        t.add_row([
            r.id.clone(),
            r.title.clone(),
            format!("{:.2}", r.duration.as_secs_f64() * 1000.0),
        ]);
    }
    format!(
        "slowest {n} checks (total {} ms):\n{t}\n",
        report.duration_ms
    )
}

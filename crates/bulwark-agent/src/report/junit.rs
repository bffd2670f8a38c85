//! JUnit XML: one test case per check, so CI systems show compliance like test results.

use std::fmt::Write;

use bulwark_core::Status;
use bulwark_engine::ScanReport;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn junit(report: &ScanReport) -> String {
    let c = &report.summary.counts;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"{}\" hostname=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
        escape(&report.template),
        escape(&report.host.hostname),
        c.total(),
        c.fail,
        c.error,
        c.skip,
        report.duration_ms as f64 / 1000.0,
        escape(&report.started_at)
    );
    for r in &report.results {
        let _ = write!(
            out,
            "  <testcase classname=\"{}\" name=\"{} {}\" time=\"{:.6}\"",
            escape(&r.category),
            escape(&r.id),
            escape(&r.title),
            r.duration.as_secs_f64()
        );
        let detail = format!(
            "actual: {}\nexpected: {}{}",
            r.outcome.actual.as_deref().unwrap_or("-"),
            r.outcome.expected,
            r.outcome
                .reason
                .as_deref()
                .map(|x| format!("\nreason: {x}"))
                .unwrap_or_default()
        );
        match r.outcome.status {
            Status::Pass => out.push_str("/>\n"),
            Status::Fail => {
                let _ = writeln!(
                    out,
                    ">\n    <failure message=\"{} severity\">{}</failure>\n  </testcase>",
                    r.severity,
                    escape(&detail)
                );
            }
            Status::Error => {
                let _ = writeln!(
                    out,
                    ">\n    <error message=\"collector error\">{}</error>\n  </testcase>",
                    escape(&detail)
                );
            }
            Status::Skip
            | Status::Waived
            | Status::NotChecked
            | Status::NotSelected
            | Status::Informational => {
                let _ = writeln!(
                    out,
                    ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                    escape(r.outcome.reason.as_deref().unwrap_or(""))
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            super::escape("<a href=\"x\">&'\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}"
        );
    }
}

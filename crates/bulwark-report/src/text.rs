//! Scan values made safe to print: evidence read from a host may hold control characters,
//! which XML 1.0 cannot carry at all (not even as character references) and which make an
//! HTML file look binary to mail filters and `grep`. Each is written visibly as `\u{..}`
//! rather than dropped, so that the evidence still shows what the host had.

use std::borrow::Cow;

use crate::model::{Finding, Report, ReportScan};

/// C0 controls other than tab, line feed and carriage return; DEL and the C1 controls (which
/// HTML rejects); and the two non-characters XML 1.0 excludes.
fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || !(c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c) || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

pub(crate) fn visible(s: &str) -> Cow<'_, str> {
    if s.chars().all(printable) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if printable(c) {
            out.push(c);
        } else {
            out.extend(c.escape_unicode());
        }
    }
    out.into()
}

/// The report with every string passed through [`visible`]; borrowed when nothing changes.
/// Every field is named (no `..`), so that a field added to the model must be handled here.
pub(crate) fn visible_report(report: &Report) -> Cow<'_, Report> {
    let s = |v: &String| visible(v).into_owned();
    let o = |v: &Option<String>| v.as_deref().map(|v| visible(v).into_owned());
    let all = |v: &Vec<String>| v.iter().map(|v| visible(v).into_owned()).collect();
    let clean = Report {
        scan: ReportScan {
            id: s(&report.scan.id),
            host_id: s(&report.scan.host_id),
            hostname: s(&report.scan.hostname),
            os: s(&report.scan.os),
            template_id: s(&report.scan.template_id),
            template_name: s(&report.scan.template_name),
            framework: s(&report.scan.framework),
            policy_id: o(&report.scan.policy_id),
            policy_name: o(&report.scan.policy_name),
            started_at: report.scan.started_at,
            completed_at: report.scan.completed_at,
            score: report.scan.score,
            weighted_score: report.scan.weighted_score,
            risk: report.scan.risk,
            passing_threshold: report.scan.passing_threshold,
            engine: s(&report.scan.engine),
        },
        findings: report
            .findings
            .iter()
            .map(|f| Finding {
                check_id: s(&f.check_id),
                title: s(&f.title),
                category: s(&f.category),
                severity: f.severity,
                status: f.status,
                description: s(&f.description),
                rationale: s(&f.rationale),
                remediation: s(&f.remediation),
                remediation_script: o(&f.remediation_script),
                references: all(&f.references),
                idents: all(&f.idents),
                actual: o(&f.actual),
                expected: s(&f.expected),
                reason: o(&f.reason),
                waived_by: o(&f.waived_by),
            })
            .collect(),
    };
    if clean == *report {
        Cow::Borrowed(report)
    } else {
        Cow::Owned(clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_visibly() {
        for (raw, shown) in [
            ("plain\ttext\r\n", "plain\ttext\r\n"),
            ("é ✓ 😀", "é ✓ 😀"),
            ("a\u{0}b", "a\\u{0}b"),
            ("\u{1b}[0m", "\\u{1b}[0m"),
            ("\u{7f}\u{85}", "\\u{7f}\\u{85}"),
            ("\u{FFFF}", "\\u{ffff}"),
        ] {
            assert_eq!(visible(raw), shown, "{raw:?}");
        }
    }
}

//! The HTML report, by targeted assertions rather than one large snapshot: escaping, that it
//! is self-contained, the order of findings, the score's colour band and the verdict.

mod common;

use bulwark_core::{Severity, Status};
use bulwark_report::{Report, html};
use common::{HOSTILE, finding, report};

fn position(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the report"))
}

#[test]
fn every_value_is_escaped() {
    let html = html(&report());
    assert!(!html.contains(HOSTILE));
    assert!(
        !html.contains("<script"),
        "the report must hold no script at all"
    );
    let escaped = "&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#34;&#38;&#39;";
    // Title, description and actual value of the hostile finding.
    assert_eq!(html.matches(escaped).count(), 3, "{html}");
}

#[test]
fn a_hostile_value_is_escaped_in_every_field() {
    // Every string field of the scan and of a finding, one at a time, so that a field
    // rendered with `|safe` or outside askama would show up here.
    type Setter = fn(&mut Report);
    let fields: [(&str, Setter); 19] = [
        ("hostname", |r| r.scan.hostname = HOSTILE.into()),
        ("host_id", |r| r.scan.host_id = HOSTILE.into()),
        ("os", |r| r.scan.os = HOSTILE.into()),
        ("template_id", |r| r.scan.template_id = HOSTILE.into()),
        ("template_name", |r| r.scan.template_name = HOSTILE.into()),
        ("framework", |r| r.scan.framework = HOSTILE.into()),
        ("policy_name", |r| r.scan.policy_name = Some(HOSTILE.into())),
        ("engine", |r| r.scan.engine = HOSTILE.into()),
        ("scan id", |r| r.scan.id = HOSTILE.into()),
        ("check_id", |r| r.findings[1].check_id = HOSTILE.into()),
        ("category", |r| r.findings[1].category = HOSTILE.into()),
        ("rationale", |r| r.findings[1].rationale = HOSTILE.into()),
        ("remediation", |r| {
            r.findings[1].remediation = HOSTILE.into()
        }),
        ("script", |r| {
            r.findings[1].remediation_script = Some(HOSTILE.into())
        }),
        ("reference", |r| {
            r.findings[1].references = vec![HOSTILE.into()]
        }),
        ("reference link", |r| {
            r.findings[1].references = vec![format!("https://x.example/{HOSTILE}")]
        }),
        ("ident", |r| r.findings[1].idents = vec![HOSTILE.into()]),
        ("reason", |r| r.findings[1].reason = Some(HOSTILE.into())),
        ("passed actual", |r| {
            r.findings[0].actual = Some(HOSTILE.into())
        }),
    ];
    for (field, set) in fields {
        let mut r = report();
        set(&mut r);
        let html = html(&r);
        assert!(!html.contains("<script"), "{field} is not escaped");
        assert!(!html.contains("\"&'"), "{field}: quotes are not escaped");
    }
}

#[test]
fn self_contained_and_printable() {
    let html = html(&report());
    for external in [
        "<script", "<link", "src=", "@import", "url(", "<iframe", "<img",
    ] {
        assert!(!html.contains(external), "{external} in the report");
    }
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("@media print"));
    assert!(html.contains("@media (max-width: 640px)"));
    assert!(html.contains(r#"<meta name="viewport""#));
}

#[test]
fn control_characters_are_shown_not_embedded() {
    let html = html(&report());
    assert!(
        !html
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    );
    assert!(html.contains(r"ciphers: aes128-cbc\u{1b}[0m\u{0}"));
}

#[test]
fn failures_first_by_severity_then_errors_waived_skipped_passed() {
    let html = html(&report());
    let order = [
        r#"<section id="failed">"#,
        "<code>fail-critical</code>",
        "<code>fail-high</code>",
        "<code>fail-medium</code>",
        "<code>fail-low</code>",
        r#"<section id="errors">"#,
        "<code>error-medium</code>",
        r#"<section id="waived">"#,
        "<code>waived-high</code>",
        r#"<section id="skipped">"#,
        "<code>skip-info</code>",
        r#"<section id="passed">"#,
        "<code>pass-critical</code>",
        "<code>pass-medium</code>",
        "<code>pass-low</code>",
    ];
    let positions: Vec<usize> = order.iter().map(|n| position(&html, n)).collect();
    for (pair, names) in positions.windows(2).zip(order.windows(2)) {
        assert!(
            pair[0] < pair[1],
            "{} must come before {}",
            names[0],
            names[1]
        );
    }
}

#[test]
fn score_colour_and_verdict() {
    // (score, threshold, colour class, verdict)
    let cases = [
        (Some(100.0), 80.0, "score-good", "Pass"),
        (Some(80.0), 80.0, "score-good", "Pass"),
        (Some(79.9), 70.0, "score-fair", "Pass"),
        (Some(79.9), 80.0, "score-fair", "Fail"),
        (Some(60.0), 50.0, "score-fair", "Pass"),
        (Some(59.99), 50.0, "score-poor", "Pass"),
        (Some(0.0), 0.0, "score-poor", "Pass"),
        (None, 0.0, "score-none", "Fail"),
    ];
    for (score, threshold, class, verdict) in cases {
        let mut r = report();
        r.scan.score = score;
        r.scan.passing_threshold = threshold;
        let html = html(&r);
        assert!(
            html.contains(&format!(r#"<div class="score {class}">"#)),
            "{score:?}: expected {class}"
        );
        assert!(
            html.contains(&format!(
                r#"<span class="verdict verdict-{verdict}">{verdict}</span>"#
            )),
            "{score:?} against {threshold}: expected {verdict}"
        );
    }
}

#[test]
fn summary_counts() {
    let html = html(&report());
    for card in [
        "Checks<b>10</b>",
        r#"Passed<b class="st-pass">3</b>"#,
        r#"Failed<b class="st-fail">4</b>"#,
        r#"Errors<b class="st-error">1</b>"#,
        r#"Skipped<b class="st-skip">1</b>"#,
        r#"Waived<b class="st-waived">1</b>"#,
        "<h2>Failed (4)</h2>",
        "<h2>Passed (3)</h2>",
        r#"<span class="value">42.9%</span>"#,
        "<dd>42.4%</dd>",
        r#"<dd class="risk-critical">critical</dd>"#,
        "passing threshold 80%",
        "2026-01-05 10:01:02 UTC",
    ] {
        assert!(html.contains(card), "{card:?} is not in the report");
    }
    // Severity × status (pass, fail, error, skip, waived, total).
    let row = |severity: &str, counts: [u32; 6]| {
        let cells: String = counts
            .iter()
            .map(|n| format!(r#"<td class="n">{n}</td>"#))
            .collect();
        format!(r#"<span class="badge sev-{severity}">{severity}</span></td>{cells}</tr>"#)
    };
    for (severity, counts) in [
        ("critical", [1, 1, 0, 0, 0, 2]),
        ("high", [0, 1, 0, 0, 1, 2]),
        ("medium", [1, 1, 1, 0, 0, 3]),
        ("low", [1, 1, 0, 0, 0, 2]),
        ("info", [0, 0, 0, 1, 0, 1]),
    ] {
        assert!(html.contains(&row(severity, counts)), "{severity} row");
    }
}

#[test]
fn finding_details() {
    let html = html(&report());
    for detail in [
        "<pre>PermitRootLogin yes</pre>",
        "<dd>PermitRootLogin no</dd>",
        r#"<pre class="script">sed -i &#39;s/^PermitRootLogin.*/PermitRootLogin no/&#39; /etc/ssh/sshd_config</pre>"#,
        "<code>CCE-80647-8</code><code>V-238201</code>",
        r#"<a href="https://www.cisecurity.org/benchmark/debian_linux">"#,
        "<li>CIS 5.2.10</li>",
        "<dd>cannot read /etc/shadow: permission denied</dd>",
        "<dt>Waived by</dt><dd>alice@example.com</dd>",
        "<dd>auditd is not installed</dd>",
    ] {
        assert!(html.contains(detail), "{detail:?} is not in the report");
    }
}

#[test]
fn only_web_links_become_links() {
    let mut r = report();
    r.findings[1].references = vec!["javascript:alert(1)".into(), "data:text/html,x".into()];
    let html = html(&r);
    assert!(!html.contains("href=\"javascript:"));
    assert!(!html.contains("href=\"data:"));
    assert!(html.contains("<li>javascript:alert(1)</li>"));
}

#[test]
fn empty_sections_say_none() {
    let r = Report {
        findings: vec![finding("only", Severity::Low, Status::Pass)],
        ..report()
    };
    let html = html(&r);
    assert!(html.contains("<h2>Failed (0)</h2>"));
    assert!(html.contains(r#"<p class="none">None.</p>"#));
}

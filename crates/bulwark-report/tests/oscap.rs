//! The ARF output held against the real OpenSCAP tools: `oscap info` and
//! `oscap ds rds-validate` accept the collection, `oscap xccdf generate report` renders it
//! with every rule and its result, and `oscap xccdf validate` accepts the Benchmark and
//! TestResult (XML Schema and XCCDF schematron).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bulwark_core::{Severity, Status};
use bulwark_report::{Finding, Report, arf};
#[path = "../../bulwark-scap/tests/common/mod.rs"]
mod scap_common;

/// `oscap ARGS FILE`; `None` only when oscap is missing and BULWARK_SKIP_SCAP=1.
fn oscap(args: &[&str], file: &std::path::Path) -> Option<std::process::Output> {
    let mut all = args.to_vec();
    all.push(file.to_str().unwrap());
    scap_common::run("oscap", &all, "openscap-scanner")
}

/// Stdout of `oscap ARGS FILE`, which must exit 0.
fn oscap_ok(args: &[&str], file: &std::path::Path) -> Option<String> {
    let mut all = args.to_vec();
    all.push(file.to_str().unwrap());
    scap_common::run_ok("oscap", &all, "openscap-scanner")
}
use common::{HOSTILE, finding, report};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The sample scan plus check ids that need sanitizing, with the rule id and XCCDF result
/// each finding must show in oscap's report.
fn report_with_expectations() -> (Report, Vec<(String, &'static str)>) {
    let mut r = report();
    let expected_sample = [
        ("xccdf_com.bulwark_rule_pass-low", "pass"),
        ("xccdf_com.bulwark_rule_fail-low", "fail"),
        ("xccdf_com.bulwark_rule_error-medium", "error"),
        ("xccdf_com.bulwark_rule_waived-high", "fail"),
        ("xccdf_com.bulwark_rule_skip-info", "notapplicable"),
        ("xccdf_com.bulwark_rule_fail-critical", "fail"),
        ("xccdf_com.bulwark_rule_fail-high", "fail"),
        ("xccdf_com.bulwark_rule_pass-critical", "pass"),
        ("xccdf_com.bulwark_rule_fail-medium", "fail"),
        ("xccdf_com.bulwark_rule_pass-medium", "pass"),
    ];
    // (check id, status, rule id, result)
    let odd = [
        (
            "CIS 5.2.1: ssh",
            Status::Fail,
            "xccdf_com.bulwark_rule_CIS_5.2.1__ssh",
            "fail",
        ),
        (
            "ssh root",
            Status::Pass,
            "xccdf_com.bulwark_rule_ssh_root_2",
            "pass",
        ),
        (
            "ssh_root",
            Status::Skip,
            "xccdf_com.bulwark_rule_ssh_root",
            "notapplicable",
        ),
        (
            "päss/wörd",
            Status::Error,
            "xccdf_com.bulwark_rule_p_ss_w_rd",
            "error",
        ),
    ];
    r.findings
        .extend(odd.iter().map(|(id, status, _, _)| Finding {
            category: "Odd ids".into(),
            ..finding(id, Severity::Medium, *status)
        }));
    let expected = expected_sample
        .iter()
        .map(|(id, res)| (id.to_string(), *res))
        .chain(odd.iter().map(|(_, _, id, res)| (id.to_string(), *res)))
        .collect();
    (r, expected)
}

#[test]
fn oscap_reads_the_collection_and_reports_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (report, expected) = report_with_expectations();
    let file = write(dir.path(), "arf.xml", &arf(&report));

    let Some(info) = oscap_ok(&["info"], &file) else {
        return;
    };
    for line in [
        "Document type: Result Data Stream",
        "Asset: asset0",
        "ARF report: xccdf0",
        "Report request: request0",
        "Result ID: xccdf_com.bulwark_testresult_scan-42",
        "Evaluation started: 2026-01-05T10:00:00Z",
        "Evaluation finished: 2026-01-05T10:01:02Z",
    ] {
        assert!(info.contains(line), "{line:?} not in oscap info:\n{info}");
    }

    // The ARF, Asset Identification and reporting-core schemas.
    oscap_ok(&["ds", "rds-validate"], &file);

    let html = oscap_ok(&["xccdf", "generate", "report"], &file).unwrap();
    let rows: BTreeMap<String, String> = scap_common::table_rows(&html, "rule-overview-leaf ")
        .into_iter()
        .collect();
    assert_eq!(
        rows.len(),
        expected.len(),
        "oscap lists every rule once: {rows:#?}"
    );
    for (id, result) in &expected {
        let class = rows
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in oscap's report: {rows:#?}"));
        assert!(
            class.contains(&format!("rule-overview-leaf-{result} ")),
            "{id}: oscap shows {class:?}, expected {result}"
        );
    }

    // The waiver as oscap presents an override.
    assert!(html.contains("This rule has been waived by <strong>alice@example.com</strong>"));
    assert!(html.contains("Waived by alice@example.com: exception EX-12"));
    // Scores by system, XCCDF's default model first: the mean of the groups' scores (SSH
    // 2 of 7, Cryptography 1 of 2, Odd ids 1 of 3; skips left out, errors and waivers fail).
    for score in [
        "<td>urn:xccdf:scoring:default</td><td class=\"text-center\">37.301587</td>",
        "<td>urn:bulwark:scoring:plain</td><td class=\"text-center\">42.860000</td>",
        "<td>urn:bulwark:scoring:weighted</td><td class=\"text-center\">42.420000</td>",
    ] {
        assert!(html.contains(score), "{score:?} not in oscap's report");
    }
    // Our escaping survived oscap's XSLT: the hostile title is text, not markup.
    assert!(!html.contains(HOSTILE));
    assert!(html.contains("&lt;script&gt;alert("));
}

/// The Benchmark with the TestResult inside it, cut from the collection: the XCCDF results
/// document `oscap xccdf validate` checks. Both elements declare their namespace, so the
/// cut needs no rewriting.
fn xccdf_results(arf: &str) -> String {
    let cut = |open: &str, close: &str| {
        let start = arf.find(open).unwrap();
        let end = arf.find(close).unwrap();
        (start, end)
    };
    let (b_start, b_end) = cut("<xccdf:Benchmark ", "</xccdf:Benchmark>");
    let (t_start, t_end) = cut("<xccdf:TestResult ", "</xccdf:TestResult>");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}{}</xccdf:TestResult>\n</xccdf:Benchmark>\n",
        &arf[b_start..b_end],
        &arf[t_start..t_end]
    )
}

/// The XCCDF 1.2 schematron that OpenSCAP ships asserts, for every rule-result of a
/// TestResult that has any override, that its result equals an override's new-result (its
/// context is `TestResult[rule-result[override]]/rule-result/result` rather than
/// `rule-result[override]/result`), so one waiver makes every other rule-result an error.
const SCHEMATRON_OVERRIDE_FALSE_POSITIVE: &str = "Error: The value of the 'result' element must match the value of the 'new-result' element in an 'override' element when present.";

fn validation_errors(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .filter(|l| l.starts_with("Error") || l.contains("OpenSCAP Error"))
        .map(str::to_string)
        .collect()
}

#[test]
fn oscap_validates_benchmark_and_test_result() {
    let dir = tempfile::tempdir().unwrap();

    // Without waivers: XML Schema and schematron, no errors (warnings are advice).
    let mut plain = report();
    plain.findings.retain(|f| f.status != Status::Waived);
    let file = write(dir.path(), "plain.xml", &xccdf_results(&arf(&plain)));
    if oscap_ok(&["xccdf", "validate"], &file).is_none() {
        return;
    }

    // With a waiver: the XML Schema accepts the override ...
    let (waived, _) = report_with_expectations();
    let file = write(dir.path(), "waived.xml", &xccdf_results(&arf(&waived)));
    oscap_ok(&["xccdf", "validate", "--skip-schematron"], &file);
    // ... and the schematron finds nothing but its own false positive.
    let output = oscap(&["xccdf", "validate"], &file).unwrap();
    let errors: Vec<String> = validation_errors(&output)
        .into_iter()
        .filter(|e| !e.starts_with(SCHEMATRON_OVERRIDE_FALSE_POSITIVE))
        .filter(|e| !e.contains("Invalid XCCDF Checklist (1.2) content"))
        .collect();
    assert!(errors.is_empty(), "schematron errors: {errors:#?}");
}
